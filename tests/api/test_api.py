"""The HTTP API on real storage: events with filters and pagination, cameras with health, one error format."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.world import T0, World, build_world
from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.geometry import Box
from vigie.domain.observation import Event
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo

STATIC = Path(__file__).resolve().parents[2] / "src" / "vigie" / "web" / "static"


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db, static=STATIC)
    events, status = SqlEventRepo(db), SqlCameraStatusRepo(db)
    for i in range(7):
        cam = "vil-1" if i % 2 == 0 else "vil-2"
        start = T0 + timedelta(minutes=i)
        events.add(Event(cam, "motion", "motion", start, start + timedelta(seconds=30), Box(0.1, 0.2, 0.3, 0.4), 0.5))
    status.record(CameraHealth("vil-2", HealthState.OFFLINE, T0, "camera vil-2: cannot open rtsp://***@10.0.0.2/"))
    return world


@pytest.fixture
def client(world: World) -> TestClient:
    return world.login("op.vil")


def test_events_newest_first_with_pagination(client: TestClient) -> None:
    first = client.get("/api/events", params={"limit": 3}).json()
    assert [e["started_at"] for e in first["items"]] == sorted((e["started_at"] for e in first["items"]), reverse=True)
    assert len(first["items"]) == 3 and first["next_offset"] == 3
    seen = [e["id"] for e in first["items"]]
    offset = first["next_offset"]
    while offset is not None:
        page = client.get("/api/events", params={"limit": 3, "offset": offset}).json()
        seen += [e["id"] for e in page["items"]]
        offset = page["next_offset"]
    assert sorted(seen) == list(range(1, 8))


def test_events_filtered_by_camera_and_time(client: TestClient) -> None:
    cam2 = client.get("/api/events", params={"camera_id": "vil-2"}).json()["items"]
    assert {e["camera_id"] for e in cam2} == {"vil-2"} and len(cam2) == 3
    since = (T0 + timedelta(minutes=4)).isoformat()
    recent = client.get("/api/events", params={"since": since}).json()["items"]
    assert len(recent) == 3  # minutes 4, 5, 6
    event = recent[0]
    assert event["region"] == {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}
    assert event["module"] == "motion" and event["kind"] == "motion"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"since": "yesterday"}, "query.since"),
    ],
)
def test_malformed_queries_get_one_error_format(client: TestClient, params: dict[str, object], field: str) -> None:
    response = client.get("/api/events", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert any(d["field"] == field for d in error["details"])


def test_naive_since_is_refused_with_a_fix(client: TestClient) -> None:
    response = client.get("/api/events", params={"since": "2026-11-28T12:00:00"})
    assert response.status_code == 422
    assert "time zone" in response.json()["error"]["message"]


def test_unknown_route_uses_the_error_format(client: TestClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_cameras_show_health_without_credentials(client: TestClient) -> None:
    cameras = {c["id"]: c for c in client.get("/api/cameras").json()}
    assert cameras["vil-1"]["state"] == "starting" and cameras["vil-1"]["simulated"] is True
    assert cameras["vil-2"]["state"] == "offline"
    assert "***@" in cameras["vil-2"]["reason"]
    assert "main_stream" not in cameras["vil-2"] and "url" not in cameras["vil-2"]


def test_status_page_and_health(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "Vigie" in page.text
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "camera=()" in page.headers["permissions-policy"]
    assert page.headers["cross-origin-opener-policy"] == "same-origin"
    assert "strict-transport-security" not in page.headers  # plain HTTP here: HSTS only behind TLS
    assert client.get("/docs").status_code == 404  # no CDN-loaded page: the description is /openapi.json
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/healthz").json()["status"] == "ok"
    assert "/api/events" in client.get("/openapi.json").json()["paths"]
