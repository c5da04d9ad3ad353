"""Live view settings per camera: the wall reads the sub stream (small, cheap, what it is for), the single view
the main stream; both with the camera's privacy masks (L6). Cameras without masks are also passed through as
their own H.264 in fragmented MP4 (no decoding); masked ones never are."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from vigie.config.camera import Camera
from vigie.domain.clock import Clock
from vigie.domain.ports import AuditSink, LiveQuality
from vigie.governance.authorisation import CameraAuthorisations
from vigie.ingest.live import LiveHub, LiveSpec, camera_frames
from vigie.ingest.live_fmp4 import Fmp4Hub, Fmp4Spec, camera_packets
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


def passthrough_specs(cameras: Iterable[Camera]) -> dict[tuple[str, LiveQuality], Fmp4Spec]:
    """The streams that may leave the server as they are: those of cameras without privacy masks (L6)."""
    specs: dict[tuple[str, LiveQuality], Fmp4Spec] = {}
    for camera in cameras:
        if mask_polygons(camera):
            continue
        specs[camera.id, "wall"] = Fmp4Spec(camera.id, camera.analysis_stream)
        specs[camera.id, "full"] = Fmp4Spec(camera.id, camera.main_stream)
    return specs


def open_live_service(
    cameras: Iterable[Camera], audit: AuditSink, clock: Clock, authorisations: CameraAuthorisations | None = None
) -> LiveService:
    cameras = list(cameras)
    hub = LiveHub(live_specs(cameras), partial(camera_frames, clock=clock))
    passthrough = Fmp4Hub(passthrough_specs(cameras), partial(camera_packets, clock=clock))
    return LiveService(hub, audit, clock, authorisations=authorisations, passthrough=passthrough)
