"""A camera whose prefectoral authorisation is not in force shows nothing (issue 14, L1): no live image, no MJPEG or
wall tile, no alert image, each refusal a 403 ``camera_not_authorised`` naming the authorisation and audited; the
public page lists it as expired. Days are the Paris days of the service's clock, never the host's."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.api.live_world import live_service
from tests.api.world import PASSWORD, T0, TODAY, Clock, World, build_world
from tests.recording.export_samples import ListAuditSink, record
from tests.support.servers import serving
from tests.support.waiting import wait_for
from vigie.api.routes import live as live_route
from vigie.config.camera import Authorisation
from vigie.domain.audit import AuditAction
from vigie.domain.camera import Purpose
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.users import Role
from vigie.governance.authorisation import CameraAuthorisations
from vigie.services.alerts import AlertService
from vigie.services.snapshots import SnapshotService
from vigie.storage.recording import SqlSegmentIndex
from vigie.storage.segment_store import FileSegmentStore


def authorisation(reference: str, until: date) -> Authorisation:
    return Authorisation(
        reference=reference,
        valid_from=until - timedelta(days=5 * 365),
        valid_until=until,
        purposes=(Purpose.CRIME_PREVENTION,),
        retention_days=15,
    )


AUTHORISATIONS = {
    "vil-1": authorisation("2024-DS-0001", TODAY + timedelta(days=365)),  # valid
    "vil-2": authorisation("2021-DS-0002", TODAY - timedelta(days=30)),  # expired a month ago
    "bron-1": authorisation("2024-DS-0003", TODAY + timedelta(days=60)),  # expires within four months
    "pn-1": authorisation("2026-DS-0004", TODAY),  # its last day
}


@pytest.fixture
def world(db: Engine, tmp_path: Path) -> World:
    store = FileSegmentStore(tmp_path / "segments")
    index = SqlSegmentIndex(db)
    for camera in ("vil-1", "vil-2"):
        for segment in record(store.root, camera, [(T0, 4)]):
            index.add(segment)
    registers: list[CameraAuthorisations] = []

    def register(clock: Clock) -> CameraAuthorisations:
        if not registers:
            registers.append(CameraAuthorisations(AUTHORISATIONS, clock))
        return registers[0]

    def snapshots(alerts: AlertService, audit: ListAuditSink, clock: Clock) -> SnapshotService:
        return SnapshotService(alerts, index, store, audit, clock=clock, authorisations=register(clock))

    return build_world(
        db,
        live=lambda audit, clock: live_service(audit, clock, register(clock)),
        snapshots=snapshots,
        authorisations=register,
    )


def denials(world: World) -> list[tuple[str, str, str]]:
    return [
        (e.actor, e.target, str(e.details["reason"]))
        for e in world.audit.events
        if e.action is AuditAction.ACCESS_DENIED
    ]


def views(world: World) -> list[str]:
    return [e.target for e in world.audit.events if e.action is AuditAction.LIVE_VIEWED]


def test_an_expired_camera_serves_no_live_image(world: World) -> None:
    operator = world.login("op.vil")
    assert operator.get("/api/cameras/vil-1/live.jpg").status_code == 200
    for path in ("/api/cameras/vil-2/live.jpg", "/api/cameras/vil-2/live.mjpeg"):
        refused = operator.get(path, params={"quality": "full"})
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert error["code"] == "camera_not_authorised"
        assert "prefectoral authorisation 2021-DS-0002 expired on" in error["message"]
        assert (TODAY - timedelta(days=30)).isoformat() in error["message"]
    assert views(world) == ["vil-1"], "no view of the expired camera was opened"
    assert [(actor, target) for actor, target, _ in denials(world)] == [
        ("op.vil", "GET /api/cameras/vil-2/live.jpg"),
        ("op.vil", "GET /api/cameras/vil-2/live.mjpeg"),
    ]
    assert "2021-DS-0002" in denials(world)[0][2]
    # another commune's expired camera still answers 404 like any camera one may not see: nothing leaks
    assert world.login("op.bron").get("/api/cameras/vil-2/live.jpg").status_code == 404


def test_the_live_image_stops_the_day_after_the_last_day_on_the_services_clock(world: World) -> None:
    world.add("op.pn", [Role.OPERATOR], "police-nationale")
    world.clock.now = datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(hours=22, minutes=55)
    operator = world.login("op.pn")
    assert operator.get("/api/cameras/pn-1/live.jpg").status_code == 200, "23:55 in Paris: the last day still counts"
    world.clock.now += timedelta(minutes=10)  # 23:05 UTC, but already the next day in Paris
    refused = operator.get("/api/cameras/pn-1/live.jpg")
    assert refused.status_code == 403 and "2026-DS-0004 expired" in refused.json()["error"]["message"]


def test_the_public_list_shows_each_cameras_authorisation(world: World) -> None:
    cameras = {c["id"]: c for c in world.client().get("/api/public/cameras").json()}
    assert {c: cameras[c]["authorisation"] for c in cameras} == {
        "vil-1": "valid",
        "vil-2": "expired",
        "bron-1": "expiring",
        "pn-1": "expiring",
    }
    assert cameras["vil-2"]["authorisation_reference"] == "2021-DS-0002"
    assert cameras["vil-2"]["authorised_until"] == (TODAY - timedelta(days=30)).isoformat()


def test_no_alert_image_of_an_expired_camera(world: World) -> None:
    world.clock.now = T0 + timedelta(minutes=5)
    ids = {}
    for camera in ("vil-1", "vil-2"):
        alert = world.alerts.raise_alert(
            Observation(
                camera, "intrusion", "intrusion", T0 + timedelta(seconds=1), (Box(0.1, 0.1, 0.2, 0.2),), 0.9, "m@1"
            )
        )
        ids[camera] = alert.id
    operator = world.login("op.vil")
    assert operator.get(f"/api/alerts/{ids['vil-1']}/snapshot.jpg").status_code == 200
    refused = operator.get(f"/api/alerts/{ids['vil-2']}/snapshot.jpg")
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "camera_not_authorised"
    assert "2021-DS-0002" in refused.json()["error"]["message"]
    playbacks = [e.target for e in world.audit.events if e.action is AuditAction.PLAYBACK]
    assert playbacks == ["vil-1"]
    assert [t for _, t, _ in denials(world)] == [f"GET /api/alerts/{ids['vil-2']}/snapshot.jpg"]


@pytest.fixture
def server(world: World) -> Iterator[str]:
    with serving(world.client().app) as base:
        yield base


def login(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=5)
    response = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def test_a_live_view_in_progress_ends_when_the_authorisation_does(
    world: World, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_route, "RECHECK_S", 0.2)
    world.add("op.pn", [Role.OPERATOR], "police-nationale")
    last_evening = datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(hours=22, minutes=55)
    world.clock.now = last_evening  # 23:55 in Paris on pn-1's last day
    client = login(server, "op.pn")
    started = time.monotonic()
    with client.stream("GET", "/api/cameras/pn-1/live.mjpeg") as response:
        assert response.status_code == 200
        chunks = response.iter_bytes()
        next(chunks)
        world.clock.now += timedelta(minutes=10)  # past midnight in Paris: the authorisation has ended
        for _ in chunks:  # the server ends the body by itself
            assert time.monotonic() - started < 10, "the live view went on after the authorisation ended"
    wait_for(lambda: [e for e in world.audit.events if e.action is AuditAction.LIVE_ENDED], 5, "the end audited")
    ended = [e for e in world.audit.events if e.action is AuditAction.LIVE_ENDED]
    assert [e.details["ended"] for e in ended] == ["camera authorisation ended"]


def test_the_wall_refuses_an_expired_camera_and_audits_it(world: World) -> None:
    with world.login("op.vil").websocket_connect("/api/live/wall") as ws:
        ws.send_json({"cameras": ["vil-2", "vil-1"]})
        refused: list[dict[str, str]] = []
        for _ in range(40):
            message = ws.receive()
            if message.get("text") is not None:
                refused.append(json.loads(message["text"]))
                break
    assert [r["camera"] for r in refused] == ["vil-2"]
    assert "2021-DS-0002 expired" in refused[0]["error"]
    assert [(a, t) for a, t, _ in denials(world)] == [("op.vil", "WALL vil-2")]
    assert "vil-2" not in views(world)
