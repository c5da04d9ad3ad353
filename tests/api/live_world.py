"""Live view for API and browser tests: every camera of the world with a privacy mask on its left half, fed by
synthetic white frames (``tests.support.live_camera.Camera``); the services made are closed after each test
(tests/conftest.py), so no reading thread outlives its test."""

from __future__ import annotations

from tests.api.world import Clock
from tests.recording.export_samples import ListAuditSink
from tests.support.live_camera import LEFT_HALF, Camera
from vigie.domain.ports import LiveQuality
from vigie.governance.authorisation import CameraAuthorisations
from vigie.ingest.live import LiveHub, LiveSpec
from vigie.services.live import LiveService

CAMERA_IDS = ("vil-1", "vil-2", "bron-1", "pn-1")
OPEN: list[LiveService] = []


def live_service(audit: ListAuditSink, clock: Clock, authorisations: CameraAuthorisations | None = None) -> LiveService:
    specs: dict[tuple[str, LiveQuality], LiveSpec] = {}
    for camera_id in CAMERA_IDS:
        for quality in ("wall", "full"):
            specs[camera_id, quality] = LiveSpec(camera_id, f"rtsp://cam/{camera_id}", masks=(LEFT_HALF,), idle_s=0.2)
    service = LiveService(LiveHub(specs, Camera(period=0.02)), audit, clock, authorisations=authorisations)
    OPEN.append(service)
    return service


def close_all() -> None:
    while OPEN:
        OPEN.pop().shutdown()
