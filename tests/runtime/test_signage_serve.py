"""A camera that no signage panel covers is not commissioned (L7), under the service built and started as `vigie serve`
builds it: its site has no panel, so it is neither recorded nor streamed (nor analysed), while the camera of the
site with a panel records; the operator's camera list says why it is down and what to add; the public page lists the
controller and the contact of the site with a panel only. Real worker processes, real PyAV."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.support.clocks import T0, RunningClock
from tests.support.configs import camera_yaml, config_yaml, unsigned_site_yaml
from tests.support.operators import operator_client
from tests.support.videos import write_moving_square_video
from tests.support.waiting import wait_for
from vigie.config import load_config_text
from vigie.runtime.assembly.service import VigieService

VALID = ((T0 - timedelta(days=365)).date().isoformat(), (T0 + timedelta(days=5 * 365)).date().isoformat())
PASSWORD = "correct horse battery staple 1"
REASON = (
    "camera unsigned: not commissioned: no signage record (L7) — add `signage:` to camera unsigned or its site gare"
)


def config_text(tmp_path: Path, url: str) -> str:
    """Site ``centre`` (with the test panel) holds ``signed``; site ``gare`` (no panel) holds ``unsigned``."""
    text = config_yaml(tmp_path, camera_yaml("signed", url, valid=VALID), storage="  segment_seconds: 2\n")
    gare = unsigned_site_yaml("gare", "Gare", camera_yaml("unsigned", url, valid=VALID))
    return text + gare


def cameras(api: TestClient) -> dict[str, dict[str, Any]]:
    answer = api.get("/api/cameras")
    assert answer.status_code == 200, answer.text
    return {c["id"]: c for c in answer.json()}


def test_a_camera_without_a_panel_is_neither_recorded_nor_streamed_and_the_operator_sees_why(tmp_path: Path) -> None:
    video = write_moving_square_video(tmp_path / "cam.mp4", seconds=20.0)
    clock = RunningClock(T0)
    service = VigieService(load_config_text(config_text(tmp_path, video.as_uri())), clock=clock)
    assert service.camera_refusal("signed") is None
    assert service.camera_refusal("unsigned") == REASON
    api = operator_client(service, clock, PASSWORD)
    service.start()
    try:
        wait_for(lambda: service.segments.count(camera_id="signed") >= 1, 40, "the signed camera recorded")
        down = wait_for(
            lambda: (c := cameras(api)["unsigned"])["state"] == "offline" and c, 20, "the unsigned camera reported off"
        )
        assert down["reason"].startswith(REASON), down  # analysis and recording both refused, for that reason
        assert f"recording offline: {REASON}" in down["reason"]
        assert not [name for name in service.supervisor.pids() if "unsigned" in name], "a worker of it was started"
        live = api.get("/api/cameras/unsigned/live.jpg")
        assert live.status_code == 403 and "not commissioned: no signage record (L7)" in live.text, live.text
        public = TestClient(service.app).get("/api/public/signage")  # no login
        assert public.status_code == 200
        assert public.json() == [
            {
                "commune_id": "testville",
                "site_id": "centre",
                "site_name": "Centre",
                "panels": [
                    {"controller": "Ville de Testville", "contact": "dpo@testville.example", "camera_ids": ["signed"]}
                ],
            }
        ]
    finally:
        service.stop()
    assert service.segments.count(camera_id="unsigned") == 0
