"""A case's own bookmarks (issue 22) through the API: an investigator bookmarks instants of the scope's cameras
with a note, lists them in the order of their instants and removes one; a camera or an instant outside the scope,
a closed case, another commune's case, a person without ``manage_cases`` and a malformed body are refused; a
closed case's bookmarks are still read; the audit log names the camera and instant of each bookmark, never its
note."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.test_cases_api import END, START, requisition
from tests.api.world import World, build_world
from vigie.domain.audit import AuditAction
from vigie.domain.users import Role

NOTE = "homme en veste rouge qui sort du tabac"
"""A note that describes a person: shown to the case's readers, never written in the audit log."""


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db)
    world.add("inv.bron", [Role.INVESTIGATOR], "bron")
    return world


def open_case(client: TestClient) -> int:
    answer = client.post("/api/cases", json=requisition())
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def bookmark(client: TestClient, case_id: int, **body: Any) -> Any:
    return client.post(f"/api/cases/{case_id}/bookmarks", json={"camera_id": "vil-1", "at": START.isoformat()} | body)


def test_an_investigator_bookmarks_instants_lists_them_in_order_and_removes_one(world: World) -> None:
    client = world.login("inv.vil")
    case_id = open_case(client)
    late_at = (START + timedelta(hours=2)).astimezone(timezone(timedelta(hours=1)))  # Paris winter time, answered UTC

    late = bookmark(client, case_id, camera_id="vil-2", at=late_at.isoformat(), note=f"  {NOTE}\n")
    early = bookmark(client, case_id, at=(START + timedelta(minutes=30)).isoformat())
    first = bookmark(client, case_id)  # the scope's first instant is in it

    assert late.status_code == 201, late.text
    assert early.status_code == 201 and first.status_code == 201, early.text
    assert late.json() | {"id": 0, "created_at": ""} == {
        "id": 0,
        "case_id": case_id,
        "camera_id": "vil-2",
        "at": (START + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
        "note": NOTE,
        "created_by": "inv.vil",
        "created_at": "",
    }
    listed = client.get(f"/api/cases/{case_id}/bookmarks")
    assert listed.status_code == 200
    assert [b["id"] for b in listed.json()["items"]] == [first.json()["id"], early.json()["id"], late.json()["id"]]

    removed = client.delete(f"/api/cases/{case_id}/bookmarks/{early.json()['id']}")
    assert removed.status_code == 204 and removed.content == b""
    assert [b["id"] for b in client.get(f"/api/cases/{case_id}/bookmarks").json()["items"]] == [
        first.json()["id"],
        late.json()["id"],
    ]
    again = client.delete(f"/api/cases/{case_id}/bookmarks/{early.json()['id']}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"

    events = world.audit.events
    added = [e for e in events if e.action is AuditAction.CASE_BOOKMARK_ADDED]
    gone = [e for e in events if e.action is AuditAction.CASE_BOOKMARK_REMOVED]
    reads = [e for e in events if e.action is AuditAction.CASE_READ and e.details.get("resource") == "bookmarks"]
    assert [e.details["camera_id"] for e in added] == ["vil-2", "vil-1", "vil-1"]
    assert added[0].target == f"case:{case_id}" and added[0].actor == "inv.vil"
    assert added[0].details["bookmark_id"] == late.json()["id"] and added[0].details["note_length"] == len(NOTE)
    assert len(gone) == 1 and gone[0].details["bookmark_id"] == early.json()["id"]
    assert [e.details["answered"] for e in reads] == [3, 2]
    for event in events:  # the investigator's words about a person never reach the audit log
        assert "veste" not in repr(event.details), event


def test_the_bookmark_is_answered_with_the_time_the_clock_gives(world: World) -> None:
    client = world.login("inv.vil")
    case_id = open_case(client)
    world.clock.advance(timedelta(minutes=7))
    made = bookmark(client, case_id)
    assert made.status_code == 201, made.text
    assert made.json()["created_at"] == world.clock().isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"camera_id": "vil-3"}, "vil-3"),
        ({"camera_id": "bron-1"}, "bron-1"),
        ({"at": (START - timedelta(seconds=1)).isoformat()}, "scope"),
        ({"at": END.isoformat()}, "scope"),  # the scope's end is excluded
    ],
)
def test_a_camera_or_an_instant_outside_the_scope_is_refused_and_audited(
    world: World, body: dict[str, Any], named: str
) -> None:
    client = world.login("inv.vil")
    case_id = open_case(client)
    answer = bookmark(client, case_id, **body)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "out_of_scope" and named in answer.json()["error"]["message"]
    assert world.audit.events[-1].action is AuditAction.ACCESS_DENIED
    assert client.get(f"/api/cases/{case_id}/bookmarks").json()["items"] == []
    assert AuditAction.CASE_BOOKMARK_ADDED not in [e.action for e in world.audit.events]


def test_a_closed_cases_bookmarks_are_kept_and_read_but_none_is_added_or_removed(world: World) -> None:
    client = world.login("inv.vil")
    case_id = open_case(client)
    kept = bookmark(client, case_id, note=NOTE).json()
    closed = client.post(f"/api/cases/{case_id}/close", json={"hold_decision": "kept", "reason": "procès à venir"})
    assert closed.status_code == 200, closed.text

    added = bookmark(client, case_id)
    removed = client.delete(f"/api/cases/{case_id}/bookmarks/{kept['id']}")

    assert added.status_code == 409 and added.json()["error"]["code"] == "case_closed"
    assert removed.status_code == 409 and removed.json()["error"]["code"] == "case_closed"
    assert world.audit.events[-1].action is AuditAction.ACCESS_DENIED
    assert client.get(f"/api/cases/{case_id}/bookmarks").json()["items"] == [kept]
    assert world.login("dpo.vil").get(f"/api/cases/{case_id}/bookmarks").json()["items"] == [kept]


def test_another_communes_case_answers_like_none(world: World) -> None:
    client = world.login("inv.vil")
    case_id = open_case(client)
    made = bookmark(client, case_id).json()
    bron = world.login("inv.bron")
    assert bookmark(bron, case_id).status_code == 404
    assert bookmark(bron, case_id, camera_id="bron-1").status_code == 404
    assert bron.get(f"/api/cases/{case_id}/bookmarks").status_code == 404
    assert bron.delete(f"/api/cases/{case_id}/bookmarks/{made['id']}").status_code == 404
    assert client.get(f"/api/cases/{case_id}/bookmarks").json()["items"] == [made]
    other_case = bron.post("/api/cases", json=requisition(camera_ids=["bron-1"]))
    assert other_case.status_code == 201, other_case.text
    # a bookmark is removed through its own case only
    assert bron.delete(f"/api/cases/{other_case.json()['id']}/bookmarks/{made['id']}").status_code == 404
    assert client.get(f"/api/cases/{case_id}/bookmarks").json()["items"] == [made]


@pytest.mark.parametrize("username", ["dpo.vil", "auditor.vil"])
def test_the_dpo_and_auditors_read_bookmarks_but_neither_add_nor_remove(world: World, username: str) -> None:
    client = world.login("inv.vil")
    case_id = open_case(client)
    made = bookmark(client, case_id, note=NOTE).json()
    reader = world.login(username)
    assert reader.get(f"/api/cases/{case_id}/bookmarks").json()["items"] == [made]
    refused = bookmark(reader, case_id)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert reader.delete(f"/api/cases/{case_id}/bookmarks/{made['id']}").status_code == 403
    assert world.login("op.vil").get(f"/api/cases/{case_id}/bookmarks").status_code == 403


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"label": "x"}, "label"),
        ({"note": "x" * 501}, "note"),
        ({"at": "2026-11-28T08:00:00"}, "at"),
        ({"at": "hier"}, "at"),
        ({"camera_id": ""}, "camera_id"),
        ({"note": 3}, "note"),
    ],
)
def test_a_malformed_bookmark_answers_422_naming_the_field(world: World, changes: dict[str, Any], named: str) -> None:
    client = world.login("inv.vil")
    case_id = open_case(client)
    answer = bookmark(client, case_id, **changes)
    assert answer.status_code == 422, answer.text
    assert named in answer.text
    assert client.get(f"/api/cases/{case_id}/bookmarks").json()["items"] == []


def test_a_case_holds_a_bounded_number_of_bookmarks(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vigie.services.case_bookmarks.MAX_CASE_BOOKMARKS", 2)
    client = world.login("inv.vil")
    case_id = open_case(client)
    made = [bookmark(client, case_id, at=(START + timedelta(minutes=m)).isoformat()) for m in range(3)]
    assert [m.status_code for m in made] == [201, 201, 409]
    assert "2 bookmarks" in made[2].json()["error"]["message"]
    client.delete(f"/api/cases/{case_id}/bookmarks/{made[0].json()['id']}")
    assert bookmark(client, case_id).status_code == 201
