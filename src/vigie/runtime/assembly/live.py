"""Live view settings per camera: the wall reads the sub stream (small, cheap, what it is for), the single view
the main stream; both with the camera's privacy masks (L6)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from vigie.config.camera import Camera
from vigie.domain.clock import Clock
from vigie.domain.ports import AuditSink, LiveQuality
from vigie.governance.authorisation import CameraAuthorisations
from vigie.ingest.live import LiveHub, LiveSpec, camera_frames
from vigie.ingest.masking import mask_polygons
from vigie.services.live import LiveService

WALL_WIDTH = 640
WALL_FPS = 10.0
FULL_WIDTH = 1920
FULL_FPS = 15.0


def live_specs(cameras: Iterable[Camera]) -> dict[tuple[str, LiveQuality], LiveSpec]:
    specs: dict[tuple[str, LiveQuality], LiveSpec] = {}
    for camera in cameras:
        masks = mask_polygons(camera)
        specs[camera.id, "wall"] = LiveSpec(camera.id, camera.analysis_stream, WALL_FPS, WALL_WIDTH, masks)
        specs[camera.id, "full"] = LiveSpec(camera.id, camera.main_stream, FULL_FPS, FULL_WIDTH, masks)
    return specs


def open_live_service(
    cameras: Iterable[Camera], audit: AuditSink, clock: Clock, authorisations: CameraAuthorisations | None = None
) -> LiveService:
    hub = LiveHub(live_specs(cameras), partial(camera_frames, clock=clock))
    return LiveService(hub, audit, clock, authorisations=authorisations)
