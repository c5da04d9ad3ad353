"""``vigie demo --photoreal`` with a COCO model installed, as a user runs it: its cameras show the photo-real scenes
(people and cars cut out of the pinned public footage) and the model, not the drawn sprites' blind spot, raises the
event modules' alerts — the first one on the plaza, where a person walks into the watched corner."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import free_port
from tests.support.thermal_camera import Audit
from tests.support.vigie_cli import ApiSession, demo_session, start_vigie, stop_vigie
from tests.support.waiting import wait_for
from vigie.runtime.assembly.models import ModelRegistry

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
YOLOX = DATA / "models" / "yolox_nano.onnx"
NEEDED = (DATA / "tracking" / "tud-campus", DATA / "plates-fr-dev", YOLOX)
DEADLINE_S = 300.0
"""Cutting the bank out (GrabCut on the plate photos, about a minute on two busy cores), rendering the scenes, then
the plaza's visitor walks into the watched corner 2–5 s into the scene."""
DETECTOR_MODULES = {"intrusion", "loitering", "abandoned_object", "person_on_ground", "stationary_vehicle", "wrong_way"}


@pytest.mark.slow
@pytest.mark.skipif(not all(p.exists() for p in NEEDED), reason="development data not in ../shared/data")
def test_the_photoreal_demo_raises_alerts_from_a_real_detector(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    ModelRegistry(data / "models", Audit()).add(YOLOX, "yolox", "yolox_nano")  # what `vigie models add` does
    port = free_port()
    proc = start_vigie(
        "demo", "--data-dir", str(data), "--port", str(port), "--no-rtsp", "--cameras", "1", "--photoreal", str(DATA)
    )
    api: ApiSession | None = None

    def an_alert() -> list[dict[str, Any]]:
        nonlocal api
        assert proc.poll() is None, "the demo stopped by itself"
        try:
            api = api or demo_session(port, data / "demo-login.txt")
            if api is None:
                return []
            items: list[dict[str, Any]] = api.get("/api/alerts")["items"]
        except OSError:
            return []
        return [a for a in items if a["module"] in DETECTOR_MODULES and a["camera_id"] == "sim1"]

    try:
        alerts = wait_for(an_alert, DEADLINE_S, "an alert of a detector's module on the photo-real plaza", every=1.0)
    finally:
        output = stop_vigie(proc, signal.SIGINT)
    assert proc.returncode == 0, output[-3000:]
    assert alerts and all(a["state"] == "pending" for a in alerts), "an alert waits for a person"
    assert "photo-real scenes" in output and "model yolox_nano" in output
    assert "simulated camera sim1 shows the scene 'plaza'" in output
