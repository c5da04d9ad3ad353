"""`vigie serve` listens to its cameras' own ONVIF events (simulated ONVIF cameras over real HTTP, the service built
and started as `vigie serve` does): a camera turned or covered reaches the operator's camera list within seconds
and the audit chain (L18); camera-side motion without an activation of `motion` is dropped and counted, never
stored (L22); a camera with a wrong password or nothing listening is reported without its password and never
holds the others; the listener's thread ends with the service."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from tests.support.clocks import T0, FakeClock
from tests.support.configs import camera_yaml, config_yaml
from tests.support.operators import operator_client
from tests.support.servers import free_port
from tests.support.waiting import wait_for
from vigie.config import load_config_text
from vigie.devices.event_listener import SubscriptionState
from vigie.domain.audit import AuditAction
from vigie.domain.clock import legal_day
from vigie.governance.camera_credentials import CameraCredentialStore
from vigie.runtime.assembly.audit import keys_folder
from vigie.runtime.assembly.service import VigieService
from vigie.runtime.metrics import exposition
from vigie.sim.onvif import OnvifSimulator, SimDeviceSpec, SimProfile, SimTopic

LOGIN_PASSWORD = "correct horse battery staple 1"
DEVICE_PASSWORD = "Cam-acc0unt-pw-never-logged"
WRONG_PASSWORD = "Wr0ng-pw-never-logged-either"


def onvif_camera(camera_id: str, port: int, valid: tuple[str, str]) -> str:
    url = f"rtsp://127.0.0.1:9/{camera_id}"  # nothing streams: the events are what is tested
    return camera_yaml(camera_id, url, valid=valid).replace(
        f"main_stream: {url}\n",
        f"main_stream: {url}\n            credentials: {camera_id}\n"
        f"            onvif: {{host: 127.0.0.1, port: {port}}}\n",
    )


@pytest.fixture
def simulator() -> Iterator[OnvifSimulator]:
    specs = [
        SimDeviceSpec(
            name=name,
            username="vigie-events",
            password=DEVICE_PASSWORD,
            profiles=(SimProfile("main", "Main", f"rtsp://127.0.0.1:9/{name}", width=1280, height=720, fps=15),),
        )
        for name in ("cam-a", "cam-b")
    ]
    with OnvifSimulator(specs, host="127.0.0.1") as sim:
        yield sim


def _operator(service: VigieService, clock: FakeClock) -> TestClient:
    return operator_client(service, clock, LOGIN_PASSWORD)


def _camera(api: TestClient, camera_id: str) -> dict[str, Any]:
    cameras = api.get("/api/cameras")
    assert cameras.status_code == 200, cameras.text
    return next(c for c in cameras.json() if c["id"] == camera_id)


def _stream_alarms(database: Path) -> list[tuple[str, dict[str, Any]]]:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT target, details FROM audit_entries WHERE action = ? ORDER BY seq", (AuditAction.STREAM_ALARM.value,)
        ).fetchall()
    return [(target, json.loads(details)) for target, details in rows]


def test_camera_side_events_reach_the_operator_through_vigie_serve(
    tmp_path: Path, simulator: OnvifSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="vigie")
    clock = FakeClock(T0)
    day = legal_day(clock)
    valid = ((day - timedelta(days=30)).isoformat(), (day + timedelta(days=365)).isoformat())
    cameras = "".join(
        onvif_camera(camera_id, port, valid)
        for camera_id, port in (
            ("cam-a", simulator.address("cam-a")[1]),
            ("cam-b", simulator.address("cam-b")[1]),  # its account in the store has the wrong password
            ("cam-c", free_port()),  # nothing listens there
        )
    )
    config = load_config_text(config_yaml(tmp_path, cameras))
    store = CameraCredentialStore(keys_folder(config))
    store.set("cam-a", "vigie-events", DEVICE_PASSWORD)
    store.set("cam-b", "vigie-events", WRONG_PASSWORD)
    store.set("cam-c", "vigie-events", DEVICE_PASSWORD)
    service = VigieService(config, clock=clock)
    api = _operator(service, clock)
    listener = service.camera_events.listener
    assert sorted(listener.cameras) == ["cam-a", "cam-b", "cam-c"]
    service.start()
    try:

        def states() -> dict[str, SubscriptionState]:
            return {s.camera_id: s.state for s in listener.subscriptions()}

        wait_for(lambda: states()["cam-a"] is SubscriptionState.SUBSCRIBED, 15, "cam-a subscribed", context=states)
        failing = wait_for(
            lambda: len(f := _failing(service)) == 2 and f, 15, "cam-b and cam-c reported failing", context=states
        )
        assert "cam-b" in failing["cam-b"] and "cam-c" in failing["cam-c"], failing

        simulator.raise_event("cam-a", SimTopic.GLOBAL_SCENE_CHANGE, True)  # the camera was turned
        seen = wait_for(
            lambda: (c := _camera(api, "cam-a"))["reason"].find("scene_changed") >= 0 and c,
            5,
            "the operator's camera list to show the scene change",
        )
        assert seen["state"] != "online", seen
        assert ("camera:cam-a", {"kind": "scene_changed", "state": "raised"}) in [
            (target, {"kind": d["kind"], "state": d["state"]}) for target, d in _stream_alarms(tmp_path / "vigie.db")
        ]
        simulator.raise_event("cam-a", SimTopic.GLOBAL_SCENE_CHANGE, False)
        wait_for(lambda: "scene_changed" not in _camera(api, "cam-a")["reason"], 5, "the alarm to clear")
        assert [d["state"] for _, d in _stream_alarms(tmp_path / "vigie.db")] == ["raised", "cleared"]

        simulator.raise_event("cam-a", SimTopic.MOTION, True)  # no activation of motion on cam-a
        wait_for(lambda: service.camera_events.router.counts()[1].get("cam-a") == 1, 5, "the motion counted dropped")
        assert service.events.list(camera_id="cam-a") == []
        registry = CollectorRegistry()
        registry.register(service.camera_events.collector)  # what /metrics adds (service._metrics_access)
        scraped = exposition(registry).decode()
        assert 'vigie_camera_motion_dropped_total{camera="cam-a"} 1.0' in scraped
        assert 'vigie_camera_events_subscribed{camera="cam-a"} 1.0' in scraped
        assert 'vigie_camera_events_subscribed{camera="cam-b"} 0.0' in scraped
        assert states()["cam-a"] is SubscriptionState.SUBSCRIBED, "the failing cameras never held it"
    finally:
        service.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("camera-events")], "the listener's thread ended"
    assert DEVICE_PASSWORD not in caplog.text and WRONG_PASSWORD not in caplog.text
    assert "cam-b" in caplog.text and "cam-c" in caplog.text  # the failures were reported (without the passwords)


def _failing(service: VigieService) -> dict[str, str]:
    return {s.camera_id: s.error for s in service.camera_events.listener.subscriptions() if s.failures}


def test_camera_side_motion_is_used_where_the_gate_allows_motion(tmp_path: Path, simulator: OnvifSimulator) -> None:
    """Footage the simulator makes is analysed without an activation (``simulated_cameras``: the demo's scenes):
    the gate opens ``motion`` there, so the camera's own motion becomes a motion event, as the worker's would."""
    clock = FakeClock(T0)
    day = legal_day(clock)
    valid = ((day - timedelta(days=30)).isoformat(), (day + timedelta(days=365)).isoformat())
    config = load_config_text(config_yaml(tmp_path, onvif_camera("cam-a", simulator.address("cam-a")[1], valid)))
    CameraCredentialStore(keys_folder(config)).set("cam-a", "vigie-events", DEVICE_PASSWORD)
    service = VigieService(config, clock=clock, simulated_cameras=frozenset({"cam-a"}))
    listener = service.camera_events.listener
    service.start()
    try:
        wait_for(lambda: listener.subscriptions()[0].state is SubscriptionState.SUBSCRIBED, 15, "cam-a subscribed")
        simulator.raise_event("cam-a", SimTopic.MOTION, True)
        events = wait_for(lambda: service.events.list(camera_id="cam-a"), 10, "a motion event stored")
        assert [(e.module, e.kind, e.model_version) for e in events] == [("motion", "motion", "onvif-camera")]
        assert service.camera_events.router.counts()[1] == {}
    finally:
        service.stop()
