"""``/api/cases`` (issue 22): investigators open, list, read, put holds on and close cases from requisitions; the
DPO and auditors read them; nobody else; another commune's case answers 404; a bad or unknown field answers 422
naming it; every step lands in the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.api.world import T0, World, build_world
from vigie.domain.audit import AuditAction
from vigie.domain.users import Role

START, END = T0 - timedelta(hours=6), T0 - timedelta(hours=2)


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db)
    world.add("inv.bron", [Role.INVESTIGATOR], "bron")
    return world


def requisition(**changes: Any) -> dict[str, Any]:
    body = {
        "reference": "PV 2026/1234",
        "requisition_ref": "REQ-17",
        "authority": "Substitut Durand",
        "authority_kind": "magistrate",
        "requisition_date": (T0 - timedelta(days=1)).date().isoformat(),
        "purpose": "vol à l'arraché place Lazare-Goujon",
        "camera_ids": ["vil-1", "vil-2"],
        "start": START.isoformat(),
        "end": END.isoformat(),
    }
    return body | changes


def test_an_investigator_opens_reads_holds_and_closes_a_case(world: World) -> None:
    client = world.login("inv.vil")
    opened = client.post("/api/cases", json=requisition())
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert opened.headers["Location"] == f"/api/cases/{case['id']}"
    assert case["state"] == "open" and case["camera_ids"] == ["vil-1", "vil-2"] and case["opened_by"] == "inv.vil"
    assert client.get(f"/api/cases/{case['id']}").json() == case
    assert [c["id"] for c in client.get("/api/cases").json()["items"]] == [case["id"]]

    held = client.post(f"/api/cases/{case['id']}/holds")
    assert held.status_code == 200 and len(held.json()["hold_ids"]) == 2
    assert client.post(f"/api/cases/{case['id']}/holds").status_code == 409

    closed = client.post(f"/api/cases/{case['id']}/close", json={"hold_decision": "kept", "reason": "procès à venir"})
    assert closed.status_code == 200
    assert closed.json()["state"] == "closed" and closed.json()["hold_decision"] == "kept"
    again = client.post(f"/api/cases/{case['id']}/close", json={"hold_decision": "lifted", "reason": "x"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "case_closed"

    actions = [e.action for e in world.audit.events]
    for expected in (AuditAction.CASE_OPENED, AuditAction.CASE_READ, AuditAction.CASE_HOLDS_PLACED):
        assert expected in actions
    assert actions.count(AuditAction.HOLD_PLACED) == 2 and actions[-1] is AuditAction.CASE_CLOSED


@pytest.mark.parametrize("username", ["dpo.vil", "auditor.vil"])
def test_the_dpo_and_auditors_read_cases_but_open_none(world: World, username: str) -> None:
    case = world.login("inv.vil").post("/api/cases", json=requisition()).json()
    reader = world.login(username)
    assert reader.get(f"/api/cases/{case['id']}").status_code == 200
    assert reader.get("/api/cases").json()["items"][0]["id"] == case["id"]
    refused = reader.post("/api/cases", json=requisition())
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    closing = reader.post(f"/api/cases/{case['id']}/close", json={"hold_decision": "lifted", "reason": "x"})
    assert closing.status_code == 403


@pytest.mark.parametrize("username", ["op.vil", "sup.vil", "maire.vil", "admin.vil"])
def test_other_roles_neither_open_nor_read_cases(world: World, username: str) -> None:
    client = world.login(username)
    assert client.post("/api/cases", json=requisition()).status_code == 403
    assert client.get("/api/cases").status_code == 403


def test_another_communes_case_and_cameras_look_like_nothing(world: World) -> None:
    case = world.login("inv.vil").post("/api/cases", json=requisition()).json()
    bron = world.login("inv.bron")
    assert bron.get(f"/api/cases/{case['id']}").status_code == 404
    assert bron.get("/api/cases").json()["items"] == []
    assert bron.post(f"/api/cases/{case['id']}/holds").status_code == 404
    foreign = bron.post("/api/cases", json=requisition(camera_ids=["bron-1", "vil-1"]))
    assert foreign.status_code == 404 and "vil-1" in foreign.json()["error"]["message"]
    assert world.audit.events[-1].action is AuditAction.ACCESS_DENIED


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"end": (T0 + timedelta(hours=1)).isoformat()}, "future"),
        ({"start": (END - timedelta(days=32)).isoformat()}, "31 days"),
        ({"start": END.isoformat()}, "after start"),
        ({"start": "2026-11-28T08:00:00"}, "time zone"),
        ({"authority_kind": "mayor"}, "authority_kind"),
        ({"camera_ids": []}, "camera_ids"),
        ({"purpose": ""}, "purpose"),
        ({"purpose": "x" * 2001}, "purpose"),
        ({"zones": ["a"]}, "zones"),
        ({"requisition_date": (T0 + timedelta(days=3)).date().isoformat()}, "requisition_date"),
    ],
)
def test_a_bad_or_unknown_field_answers_422_naming_it(world: World, changes: dict[str, Any], named: str) -> None:
    answer = world.login("inv.vil").post("/api/cases", json=requisition(**changes))
    assert answer.status_code == 422, answer.text
    assert named in answer.text


def test_closing_needs_a_known_decision_and_a_reason(world: World) -> None:
    client = world.login("inv.vil")
    case = client.post("/api/cases", json=requisition()).json()
    for body in ({"hold_decision": "destroyed", "reason": "x"}, {"hold_decision": "kept"}, {"reason": "x"}):
        assert client.post(f"/api/cases/{case['id']}/close", json=body).status_code == 422
    assert (
        client.post(f"/api/cases/{case['id']}/close", json={"hold_decision": "kept", "reason": " "}).status_code == 422
    )
    assert client.get("/api/cases/0").status_code == 422
    assert client.get("/api/cases/99999").status_code == 404
