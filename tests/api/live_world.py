"""Live view for API and browser tests: every camera of the world with a privacy mask on its left half, fed by
synthetic white frames (``tests.support.live_camera.Camera``); the services made are closed after each test
(tests/conftest.py), so no reading thread outlives its test.

With ``passthrough`` (a video file of real H.264), ``vil-2`` has no mask and is also served as its own H.264 in
fragmented MP4 (:mod:`vigie.ingest.live_fmp4`), read from that file paced and looped like a camera."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.api.world import Clock
from tests.recording.export_samples import ListAuditSink
from tests.support.live_camera import LEFT_HALF, Camera
from vigie.domain.ports import LiveQuality
from vigie.governance.authorisation import CameraAuthorisations
from vigie.ingest.live import LiveHub, LiveSpec
from vigie.ingest.live_fmp4 import Fmp4Hub, Fmp4Spec
from vigie.ingest.packets import MainStream, PacketSpec
from vigie.services.live import LiveService

CAMERA_IDS = ("vil-1", "vil-2", "bron-1", "pn-1")
UNMASKED = "vil-2"
"""The camera passed through when the world has a pass-through video."""
OPEN: list[LiveService] = []


def file_packets(spec: Fmp4Spec) -> MainStream:
    """A video file's packets paced to real time and looped (what a camera sends), on the real clock."""
    return MainStream(PacketSpec(spec.camera_id, spec.url), lambda: datetime.now(UTC))


def live_service(
    audit: ListAuditSink,
    clock: Clock,
    authorisations: CameraAuthorisations | None = None,
    *,
    passthrough: Path | None = None,
) -> LiveService:
    specs: dict[tuple[str, LiveQuality], LiveSpec] = {}
    fmp4: dict[tuple[str, LiveQuality], Fmp4Spec] = {}
    for camera_id in CAMERA_IDS:
        masked = passthrough is None or camera_id != UNMASKED
        for quality in ("wall", "full"):
            masks = (LEFT_HALF,) if masked else ()
            specs[camera_id, quality] = LiveSpec(camera_id, f"rtsp://cam/{camera_id}", masks=masks, idle_s=0.2)
            if not masked and passthrough is not None:
                fmp4[camera_id, quality] = Fmp4Spec(camera_id, passthrough.as_uri(), idle_s=0.2)
    service = LiveService(
        LiveHub(specs, Camera(period=0.02)),
        audit,
        clock,
        authorisations=authorisations,
        passthrough=Fmp4Hub(fmp4, file_packets) if passthrough is not None else None,
    )
    OPEN.append(service)
    return service


def close_all() -> None:
    while OPEN:
        OPEN.pop().shutdown()
