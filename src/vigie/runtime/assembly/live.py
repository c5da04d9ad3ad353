"""Live view settings per camera: the wall reads the sub stream (small, cheap, what it is for), the single view
the main stream; both with the camera's privacy masks (L6). The H.264 is also passed through in fragmented MP4 (no
decoding): a camera's own streams when it has no masks, the stream its recorder encodes with the masks burnt in
when it has (never the raw one)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path

from vigie.config.camera import Camera
from vigie.domain.clock import Clock
from vigie.domain.ports import AuditSink, LiveQuality
from vigie.governance.authorisation import CameraAuthorisations
from vigie.ingest.live import LiveHub, LiveSpec, camera_frames
from vigie.ingest.live_fmp4 import Fmp4Hub, Fmp4Spec, camera_packets
from vigie.ingest.masking import mask_polygons
from vigie.ingest.tap import tap_path, tap_url
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


def passthrough_specs(
    cameras: Iterable[Camera], data_dir: Path | None = None
) -> dict[tuple[str, LiveQuality], Fmp4Spec]:
    """The H.264 streams passed to the browser without decoding: a camera's own streams when it has no privacy
    masks; for a camera with masks (L6), never its own streams but the one its recorder encodes with the masks
    burnt in, read from the recorder's live tap under ``data_dir`` (:mod:`vigie.ingest.tap`) — the main stream's
    size on the wall too (it is the only masked stream there is). Without ``data_dir``, masked cameras are MJPEG
    only."""
    specs: dict[tuple[str, LiveQuality], Fmp4Spec] = {}
    for camera in cameras:
        if mask_polygons(camera):
            if data_dir is not None:
                tapped = Fmp4Spec(camera.id, tap_url(tap_path(data_dir, camera.id)))
                specs[camera.id, "wall"] = specs[camera.id, "full"] = tapped
            continue
        specs[camera.id, "wall"] = Fmp4Spec(camera.id, camera.analysis_stream)
        specs[camera.id, "full"] = Fmp4Spec(camera.id, camera.main_stream)
    return specs


def open_live_service(
    cameras: Iterable[Camera],
    audit: AuditSink,
    clock: Clock,
    authorisations: CameraAuthorisations | None = None,
    *,
    data_dir: Path | None = None,
) -> LiveService:
    """``data_dir``: where the recorders' live taps are (masked cameras' live view as fMP4)."""
    cameras = list(cameras)
    hub = LiveHub(live_specs(cameras), partial(camera_frames, clock=clock))
    passthrough = Fmp4Hub(passthrough_specs(cameras, data_dir), partial(camera_packets, clock=clock))
    return LiveService(hub, audit, clock, authorisations=authorisations, passthrough=passthrough)
