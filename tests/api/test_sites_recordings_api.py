"""Sites, camera zones, camera locations and the recordings timeline over HTTP, per role and tenant (L8–L11): what
a person of each commune sees, what is refused and audited, and what the timeline says about real index rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.world import T0, TODAY, World, build_world
from tests.support.configs import camera_yaml, config_yaml
from vigie.config.models import VigieConfig
from vigie.domain.audit import AuditAction
from vigie.domain.recording import Segment, SegmentState
from vigie.domain.users import Role, User
from vigie.runtime.assembly.auth import directory
from vigie.runtime.assembly.site import camera_location, open_site_service
from vigie.services.access import Principal
from vigie.storage.recording import SqlSegmentIndex

S = timedelta(seconds=1)


def segment(camera: str, start: float, end: float, state: SegmentState = SegmentState.COMPLETE) -> Segment:
    """A segment of ``camera`` from T0 + start to T0 + end seconds (only the index row: the timeline reads no bytes)."""
    return Segment(camera, f"{camera}/{start:g}.ts", T0 + start * S, T0 + end * S, 1000, "0" * 64, state)


@pytest.fixture
def world(db: Engine) -> World:
    index = SqlSegmentIndex(db)
    for piece in [
        segment("vil-1", -30, -15),  # ends before the range: not in it
        segment("vil-1", -5, 10),  # starts before the range: clipped to it
        segment("vil-1", 10, 20),
        segment("vil-1", 20.3, 30),  # 0.3 s step: continuous for the playlist too
        segment("vil-1", 60, 70),
        segment("vil-1", 70, 80, SegmentState.QUARANTINED),
        segment("vil-1", 80, 90, SegmentState.MISSING),
        segment("vil-1", 90, 100, SegmentState.RECOVERED),
        segment("vil-1", 100, 105, SegmentState.DELETED),
        segment("bron-1", 0, 10),
    ]:
        index.add(piece)
    return build_world(db)


def when(seconds: float) -> str:
    return (T0 + seconds * S).isoformat()


def timeline(client: TestClient, camera: str = "vil-1", **params: Any) -> Any:
    return client.get(f"/api/cameras/{camera}/recordings", params={"start": when(0), "end": when(120), **params})


def spans(items: list[dict[str, Any]], *extra: str) -> list[tuple[Any, ...]]:
    """(start, end) in seconds from T0, plus the ``extra`` fields; every time must carry a time zone."""
    out = []
    for item in items:
        start, end = datetime.fromisoformat(item["start"]), datetime.fromisoformat(item["end"])
        assert start.utcoffset() == timedelta(0) and end.utcoffset() == timedelta(0), item
        out.append(((start - T0) / S, (end - T0) / S, *(item[k] for k in extra)))
    return out


# --- sites and camera locations --------------------------------------------------------------------------------


def test_sites_are_those_of_the_communes_one_sees(world: World) -> None:
    vil, bron = world.login("op.vil"), world.login("op.bron")
    page = vil.get("/api/sites").json()
    assert [(s["id"], s["commune_id"], s["camera_ids"]) for s in page["items"]] == [
        ("centre", "villeurbanne", ["vil-1", "vil-2"])
    ]
    assert page["items"][0]["name"] == "Centre-ville" and page["next_offset"] is None
    assert [(s["id"], s["camera_ids"]) for s in bron.get("/api/sites").json()["items"]] == [("parilly", ["bron-1"])]
    assert world.login("auditor.vil").get("/api/sites").status_code == 200, "no video permission needed"
    other = vil.get("/api/sites", params={"commune_id": "bron"})
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert vil.get("/api/sites", params={"commune_id": "villeurbanne"}).json()["items"][0]["id"] == "centre"


def test_a_sharing_agreement_adds_the_owners_sites_and_recordings(world: World) -> None:
    body = {
        "partner_commune": "villeurbanne",
        "reference": "Convention 2026-14",
        "starts_on": TODAY.isoformat(),
        "ends_on": (TODAY + timedelta(days=30)).isoformat(),
    }
    vil = world.login("op.vil")
    assert timeline(vil, "bron-1").status_code == 404
    assert world.login("admin.bron").post("/api/sharing-agreements", json=body).status_code == 201
    page = vil.get("/api/sites", params={"limit": 1}).json()
    assert [s["id"] for s in page["items"]] == ["centre"] and page["next_offset"] == 1
    assert [s["id"] for s in vil.get("/api/sites", params={"offset": 1}).json()["items"]] == ["parilly"]
    shared = timeline(vil, "bron-1")
    assert shared.status_code == 200 and spans(shared.json()["recorded"]) == [(0, 10)]


def test_cameras_carry_their_location_for_the_offline_map(world: World) -> None:
    cameras = {c["id"]: c for c in world.login("op.vil").get("/api/cameras").json()}
    assert cameras["vil-1"]["location"] == {
        "lat": 45.7663,
        "lon": 4.8795,
        "address": "Place Lazare-Goujon, Villeurbanne",
    }
    assert cameras["vil-2"]["location"] is None


def test_the_runtime_builds_sites_zones_and_locations_from_the_configuration(tmp_path: Path) -> None:
    zones = """            zones:
              - {kind: analysis, id: parvis, points: [[0.1, 0.5], [0.9, 0.5], [0.5, 0.9]]}
              - {kind: privacy_mask, id: fenetres, description: n° 12, points: [[0.7, 0.0], [1, 0], [1, 0.3]]}
              - {kind: directed_line, id: sortie, points: [[0, 0.5], [1, 0.5]], direction: both}
"""
    cameras = camera_yaml("a", "rtsp://cam.invalid/a") + zones + camera_yaml("b", "rtsp://cam.invalid/b")
    config = VigieConfig.model_validate(yaml.safe_load(config_yaml(tmp_path, cameras)))
    service = open_site_service(config, {"a"})  # b is not served (e.g. disabled)
    user = User("op", "Op", "testville", frozenset({Role.OPERATOR}), password_hash="")
    operator = Principal(user, frozenset({"testville"}), directory(config), video_refusal=None)
    [site] = service.list_for(operator)
    assert (site.id, site.commune_id, site.name, site.camera_ids) == ("centre", "testville", "Centre", ("a",))
    drawn = service.zones_for(operator, "a")
    assert [(z.id, z.kind, z.direction) for z in drawn] == [
        ("parvis", "analysis", None),
        ("fenetres", "privacy_mask", None),
        ("sortie", "directed_line", "both"),
    ]
    assert drawn[1].points == ((0.7, 0.0), (1.0, 0.0), (1.0, 0.3)) and drawn[1].description == "n° 12"
    placement = config.find_camera("a")
    assert placement is not None
    located = camera_location(placement.camera)
    assert (located.lat, located.lon, located.address) == (45.76, 4.83, None)


# --- zones -------------------------------------------------------------------------------------------------------


def test_zones_of_a_camera_one_sees_with_privacy_masks(world: World) -> None:
    for username in ("op.vil", "auditor.vil", "admin.vil"):
        answer = world.login(username).get("/api/cameras/vil-1/zones")
        assert answer.status_code == 200, username
    body = world.login("op.vil").get("/api/cameras/vil-1/zones").json()
    assert body["camera_id"] == "vil-1"
    zones = {z["id"]: z for z in body["zones"]}
    assert {z: zones[z]["kind"] for z in zones} == {
        "parvis": "analysis",
        "fenetres-12": "privacy_mask",
        "sortie-metro": "directed_line",
    }
    assert zones["fenetres-12"]["points"] == [[0.7, 0.05], [0.95, 0.05], [0.95, 0.3]]
    assert zones["sortie-metro"]["direction"] == "left_to_right" and zones["parvis"]["direction"] is None
    assert world.login("op.vil").get("/api/cameras/vil-2/zones").json()["zones"] == []


@pytest.mark.parametrize(("username", "camera"), [("op.bron", "vil-1"), ("op.vil", "bron-1"), ("op.vil", "nope")])
def test_zones_of_another_tenants_camera_look_like_nothing(world: World, username: str, camera: str) -> None:
    answer = world.login(username).get(f"/api/cameras/{camera}/zones")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert "parvis" not in answer.text and "fenetres" not in answer.text


# --- recordings timeline: who ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("op.vil", 200),
        ("sup.vil", 200),
        ("inv.vil", 200),
        ("auditor.vil", 403),
        ("admin.vil", 403),
        ("dpo.vil", 403),
        ("maire.vil", 403),
        ("op.untrained", 403),
        ("op.bron", 404),
    ],
)
def test_recordings_by_role_and_tenant_every_answer_audited(world: World, username: str, status: int) -> None:
    client = world.login(username)
    world.audit.events.clear()
    answer = timeline(client)
    assert answer.status_code == status, answer.text
    mine = [(e.action, e.target) for e in world.audit.events if e.actor == username]
    if status == 200:
        assert mine == [(AuditAction.SEARCH, "vil-1")]
        assert world.audit.events[-1].details["resource"] == "recordings"
    elif status == 403:
        assert answer.json()["error"]["code"] == "forbidden"
        assert mine == [(AuditAction.ACCESS_DENIED, "GET /api/cameras/vil-1/recordings")]
    else:
        assert answer.json()["error"] == {
            "code": "not_found",
            "message": "no camera 'vil-1' among the cameras you may see",
            "details": [],
        }
        assert mine == [(AuditAction.ACCESS_DENIED, "vil-1")]
        assert "spans" not in world.audit.events[-1].details


def test_training_refusal_says_why(world: World) -> None:
    answer = timeline(world.login("op.untrained"))
    assert answer.status_code == 403 and "training" in answer.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/sites", "/api/cameras/vil-1/zones", "/api/cameras/vil-1/recordings"])
def test_every_resource_needs_a_session(world: World, path: str) -> None:
    answer = world.client().get(path, params={"start": when(0), "end": when(60)})
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "not_authenticated"


# --- recordings timeline: what -----------------------------------------------------------------------------------


def test_timeline_merges_contiguous_segments_and_shows_gaps_and_unplayable_parts(world: World) -> None:
    body = timeline(world.login("op.vil"), start=when(-10)).json()
    assert body["camera_id"] == "vil-1"
    assert spans([body]) == [(-10, 120)]
    assert spans(body["recorded"], "segments") == [(-5, 30, 3), (60, 70, 1), (90, 100, 1)]
    assert spans(body["gaps"]) == [(-10, -5), (30, 60), (70, 90), (100, 120)]
    assert spans(body["unavailable"], "state", "segments") == [
        (70, 80, "quarantined", 1),
        (80, 90, "missing", 1),
        (100, 105, "deleted", 1),
    ]


def test_timeline_is_clipped_to_the_range_and_answers_in_utc(world: World) -> None:
    paris = (T0 + 5 * S).astimezone(ZoneInfo("Europe/Paris"))
    assert paris.isoformat().endswith("+01:00")
    body = timeline(world.login("op.vil"), start=paris.isoformat(), end=when(65)).json()
    assert spans(body["recorded"], "segments") == [(5, 30, 3), (60, 65, 1)]
    assert spans(body["gaps"]) == [(30, 60)]


def test_a_zoomed_out_timeline_hides_short_gaps(world: World) -> None:
    body = timeline(world.login("op.vil"), start=when(-10), min_gap_s=40).json()
    assert spans(body["recorded"], "segments") == [(-5, 100, 5)]
    assert body["gaps"] == [], "the 5 s before and the 20 s after are shorter than 40 s"


def test_a_camera_without_recordings_is_one_gap(world: World) -> None:
    body = timeline(world.login("op.vil"), "vil-2").json()
    assert body["recorded"] == [] and body["unavailable"] == []
    assert spans(body["gaps"]) == [(0, 120)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"start": "2026-11-28T12:00:00", "end": when(60)}, "time zone"),
        ({"start": when(0), "end": (T0 + timedelta(days=7, seconds=1)).isoformat()}, "at most 7 days"),
        ({"start": when(60), "end": when(60)}, "before end"),
        ({"start": "0001-01-01T00:00:00+01:00", "end": "0001-01-02T00:00:00+01:00"}, "between 1970 and 9999"),
    ],
)
def test_bad_ranges_are_refused_with_what_to_fix(world: World, params: dict[str, str], expected: str) -> None:
    client = world.login("op.vil")
    world.audit.events.clear()
    answer = client.get("/api/cameras/vil-1/recordings", params=params)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_request"
    assert expected in answer.json()["error"]["message"]
    assert not [e for e in world.audit.events if e.action is AuditAction.SEARCH], "nothing was read"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": when(0)}, "query.end"),
        ({"start": "yesterday", "end": when(60)}, "query.start"),
        ({"start": when(0), "end": when(60), "min_gap_s": -1}, "query.min_gap_s"),
        ({"start": when(0), "end": when(60), "min_gap_s": "nan"}, "query.min_gap_s"),
    ],
)
def test_malformed_queries_name_the_field(world: World, params: dict[str, Any], field: str) -> None:
    answer = world.login("op.vil").get("/api/cameras/vil-1/recordings", params=params)
    assert answer.status_code == 422
    assert field in {d["field"] for d in answer.json()["error"]["details"]}


def test_a_week_is_the_longest_range(world: World) -> None:
    answer = world.login("op.vil").get(
        "/api/cameras/vil-1/recordings",
        params={"start": when(0), "end": (T0 + timedelta(days=7)).isoformat()},
    )
    assert answer.status_code == 200
    assert spans(answer.json()["gaps"])[-1] == (100, 7 * 86400)
