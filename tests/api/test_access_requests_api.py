"""``/api/access-requests`` (L19): the DPO records a filmed person's request, scopes it to cameras and a period,
prepares a redacted copy (a test double of the copy maker: tests/support/copy_maker.py), a second person reviews it
frame by frame, it is released as a package or refused with a legal reason. Another commune's request answers 404,
unknown or bad fields 422 naming them, a huge body 413; every step is audited without the requester's personal data.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.world import T0, World, build_world
from tests.support.waiting import wait_for
from vigie.api.access_request_schemas import DocumentName, ReasonName, StateName
from vigie.domain.access_requests import AccessRequestState, IdentityDocument, RefusalReason, answer_deadline
from vigie.domain.audit import AuditAction
from vigie.domain.users import Role

NAME, CONTACT, DESCRIPTION = "Camille Requérante", "camille@example.org", "veste rouge, vers 14 h, place du marché"
CHECKER, EXPLANATION, COMMENT = "Agent Dupont", "aucun enregistrement ne subsiste", "le visage au fond reste net"
PERSONAL = (NAME, CONTACT, DESCRIPTION, CHECKER, EXPLANATION, COMMENT)
START, END = T0 - timedelta(hours=3), T0 - timedelta(hours=2)


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db)
    world.add("dpo.a", [Role.DPO])
    world.add("dpo.b", [Role.DPO])
    world.add("dpo.bron", [Role.DPO], "bron")
    return world


def request_body(**changes: Any) -> dict[str, Any]:
    body = {
        "requester_name": NAME,
        "requester_contact": CONTACT,
        "identity_document": "id_card",
        "identity_checked_by": CHECKER,
        "received_on": (T0 - timedelta(days=2)).date().isoformat(),
        "description": DESCRIPTION,
    }
    return body | changes


def recorded(client: TestClient, **changes: Any) -> dict[str, Any]:
    answer = client.post("/api/access-requests", json=request_body(**changes))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def prepared(world: World, client: TestClient, cameras: list[str] | None = None) -> dict[str, Any]:
    """A request of ``client``'s commune with a copy ready for review."""
    request = recorded(client)
    url = f"/api/access-requests/{request['id']}"
    scope = {"cameras": cameras or ["vil-1", "vil-2"], "start": START.isoformat(), "end": END.isoformat()}
    assert client.post(f"{url}/scope", json=scope).status_code == 200
    keep = [{"camera_id": "vil-1", "x1": 0.4, "y1": 0.2, "x2": 0.6, "y2": 0.9}]
    started = client.post(f"{url}/copy", json={"keep_clear": keep, "manual": []})
    assert started.status_code == 202, started.text
    return wait_for(lambda: _in_review(client, url), 10, "the copy to be ready")


def _in_review(client: TestClient, url: str) -> dict[str, Any]:
    """The request when its copy is ready for review, else nothing (an empty dict: false)."""
    body: dict[str, Any] = client.get(url).json()
    return body if body["state"] == "in_review" else {}


def _failed(client: TestClient, url: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(url).json()
    return body if body["copy_error"] else {}


def test_the_whole_workflow_from_request_to_released_package(world: World) -> None:
    dpo, second = world.login("dpo.a"), world.login("dpo.b")
    created = dpo.post("/api/access-requests", json=request_body())
    assert created.status_code == 201, created.text
    request = created.json()
    url = f"/api/access-requests/{request['id']}"
    assert created.headers["Location"] == url
    assert request["state"] == "received" and request["requester_name"] == NAME and request["created_by"] == "dpo.a"
    received = (T0 - timedelta(days=2)).date()
    assert request["deadline"] == answer_deadline(received).isoformat()
    assert request["days_left"] == (answer_deadline(received) - T0.date()).days == 28
    assert request["due_soon"] is False
    assert request["scope"] is None and request["copy"] is None and request["progress"] is None

    ready = prepared_from(world, dpo, url)
    assert ready["copy"]["prepared_by"] == "dpo.a" and ready["copy"]["frames"] == 50
    assert [f["camera_id"] for f in ready["copy"]["files"]] == ["vil-1", "vil-2"]
    assert ready["scope"]["keep_clear"][0]["x1"] == 0.4 and ready["scope"]["keep_clear"][0]["end_s"] is None
    name = ready["copy"]["files"][0]["name"]
    video = second.get(f"{url}/copy/{name}")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert second.get(f"{url}/copy/{name}", headers={"Range": "bytes=0-9"}).status_code == 206  # seekable
    assert len(second.get(f"{url}/copy/{name}/boxes").json()["frames"]) == 25
    assert b"original" in second.get(f"{url}/original/vil-1").content

    half = second.post(f"{url}/review", json={"approved": True, "frames_reviewed": 49})
    assert half.status_code == 422 and "every frame" in half.json()["error"]["message"]
    approved = second.post(f"{url}/review", json={"approved": True, "frames_reviewed": 50, "comment": "ok"})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert approved.json()["review"]["reviewer"] == "dpo.b"

    released = dpo.post(f"{url}/release")
    assert released.status_code == 200, released.text
    body = released.json()
    assert body["state"] == "released" and body["release"]["by"] == "dpo.a" and body["due_soon"] is False
    package = dpo.get(f"{url}/package")
    assert package.status_code == 200 and package.headers["content-type"] == "application/zip"
    assert body["release"]["package_name"] in package.headers["content-disposition"]
    assert dpo.post(f"{url}/refuse", json={"reason": "no_footage", "explanation": "x"}).status_code == 409

    actions = [e.action for e in world.audit.events]
    for action in (
        AuditAction.ACCESS_REQUEST_RECORDED,
        AuditAction.ACCESS_REQUEST_SCOPED,
        AuditAction.ACCESS_REQUEST_COPY_STARTED,
        AuditAction.ACCESS_REQUEST_COPY_FINISHED,
        AuditAction.ACCESS_REQUEST_REVIEWED,
        AuditAction.ACCESS_REQUEST_RELEASED,
        AuditAction.ACCESS_REQUEST_PACKAGE_DOWNLOADED,
    ):
        assert action in actions, action
    finished = next(e for e in world.audit.events if e.action is AuditAction.ACCESS_REQUEST_COPY_FINISHED)
    assert finished.details["outcome"] == "done" and finished.details["frames"] == 50
    assert set(finished.details["files"].values()) == {f["sha256"] for f in ready["copy"]["files"]}
    assert_no_personal_data(world)


def prepared_from(world: World, client: TestClient, url: str) -> dict[str, Any]:
    scope = {"cameras": ["vil-1", "vil-2"], "start": START.isoformat(), "end": END.isoformat()}
    assert client.post(f"{url}/scope", json=scope).status_code == 200
    keep = [{"camera_id": "vil-1", "x1": 0.4, "y1": 0.2, "x2": 0.6, "y2": 0.9}]
    assert client.post(f"{url}/copy", json={"keep_clear": keep}).status_code == 202
    return wait_for(lambda: _in_review(client, url), 10, "the copy to be ready")


def assert_no_personal_data(world: World) -> None:
    written = json.dumps([[e.actor, e.target, dict(e.details)] for e in world.audit.events], ensure_ascii=False)
    for text in PERSONAL:
        assert text not in written, f"{text!r} in the audit log"


def test_the_preparer_may_not_review_their_own_copy(world: World) -> None:
    dpo = world.login("dpo.a")
    ready = prepared(world, dpo)
    url = f"/api/access-requests/{ready['id']}"
    refused = dpo.post(f"{url}/review", json={"approved": True, "frames_reviewed": 50})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "second_person"
    assert "a second person reviews the copy (L19)" in refused.json()["error"]["message"]
    assert world.audit.events[-1].action is AuditAction.ACCESS_DENIED
    assert dpo.get(url).json()["state"] == "in_review"


def test_a_rejected_copy_goes_back_to_received_with_the_comment_kept(world: World) -> None:
    dpo, second = world.login("dpo.a"), world.login("dpo.b")
    ready = prepared(world, dpo)
    url = f"/api/access-requests/{ready['id']}"
    rejected = second.post(f"{url}/review", json={"approved": False, "frames_reviewed": 12, "comment": COMMENT})
    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    assert body["state"] == "received" and body["copy"] is None and body["review"]["comment"] == COMMENT
    assert second.get(f"{url}/copy/{ready['copy']['files'][0]['name']}").status_code == 404
    assert dpo.post(f"{url}/release").status_code == 409
    reviewed = next(e for e in world.audit.events if e.action is AuditAction.ACCESS_REQUEST_REVIEWED)
    assert reviewed.details["approved"] is False and reviewed.details["comment_length"] == len(COMMENT)
    assert_no_personal_data(world)


def test_another_communes_request_answers_like_none(world: World) -> None:
    request = recorded(world.login("dpo.a"))
    bron = world.login("dpo.bron")
    url = f"/api/access-requests/{request['id']}"
    assert bron.get(url).status_code == 404
    assert bron.get("/api/access-requests").json() == []
    assert bron.post(f"{url}/refuse", json={"reason": "no_footage", "explanation": "x"}).status_code == 404
    assert world.audit.events[-1].action is AuditAction.ACCESS_DENIED
    assert bron.get("/api/access-requests/999999").status_code == 404
    mine = recorded(bron)
    scope = {"cameras": ["bron-1", "vil-1"], "start": START.isoformat(), "end": END.isoformat()}
    foreign = bron.post(f"/api/access-requests/{mine['id']}/scope", json=scope)
    assert foreign.status_code == 404 and "vil-1" in foreign.json()["error"]["message"]


@pytest.mark.parametrize("username", ["op.vil", "inv.vil", "auditor.vil", "admin.vil", "maire.vil"])
def test_only_the_dpo_handles_requests(world: World, username: str) -> None:
    client = world.login(username)
    assert client.get("/api/access-requests").status_code == 403
    assert client.post("/api/access-requests", json=request_body()).status_code == 403


def test_a_dpo_without_authorisation_or_training_sees_no_request(world: World) -> None:
    refused = world.login("dpo.vil").get("/api/access-requests")  # the world's DPO has neither (L8, L9)
    assert refused.status_code == 403 and "authorisation" in refused.json()["error"]["message"]


def test_the_list_is_sorted_by_deadline_and_filtered_by_state(world: World) -> None:
    dpo = world.login("dpo.a")
    late = recorded(dpo, received_on=(T0 - timedelta(days=1)).date().isoformat())
    early = recorded(dpo, received_on=(T0 - timedelta(days=27)).date().isoformat())
    listed = dpo.get("/api/access-requests").json()
    assert [r["id"] for r in listed] == [early["id"], late["id"]]
    assert listed[0]["due_soon"] is True and listed[1]["due_soon"] is False
    dpo.post(f"/api/access-requests/{late['id']}/refuse", json={"reason": "no_footage", "explanation": EXPLANATION})
    assert [r["id"] for r in dpo.get("/api/access-requests?state=refused").json()] == [late["id"]]
    assert dpo.get("/api/access-requests?state=lost").status_code == 422


def test_the_deadline_moves_with_the_clock_and_its_extension(world: World) -> None:
    dpo = world.login("dpo.a")
    request = recorded(dpo)
    url = f"/api/access-requests/{request['id']}"
    world.clock.advance(timedelta(days=25))
    dpo = world.login("dpo.a")  # a session does not last 25 days
    assert dpo.get(url).json()["days_left"] == 3 and dpo.get(url).json()["due_soon"] is True
    extended = dpo.post(f"{url}/extend", json={"reason": "douze caméras à revoir"})
    assert extended.status_code == 200, extended.text
    body = extended.json()
    assert body["extended_because"] == "douze caméras à revoir" and body["days_left"] > 60
    assert body["due_soon"] is False
    again = dpo.post(f"{url}/extend", json={"reason": "encore"})
    assert again.status_code == 409 and "once" in again.json()["error"]["message"]


def test_no_extension_once_the_deadline_has_passed(world: World) -> None:
    dpo = world.login("dpo.a")
    request = recorded(dpo)
    world.clock.advance(timedelta(days=40))
    dpo = world.login("dpo.a")
    late = dpo.post(f"/api/access-requests/{request['id']}/extend", json={"reason": "trop tard"})
    assert late.status_code == 409 and "passed" in late.json()["error"]["message"]
    assert dpo.get(f"/api/access-requests/{request['id']}").json()["days_left"] < 0


def test_a_refusal_carries_a_legal_reason_and_ends_the_request(world: World) -> None:
    dpo = world.login("dpo.a")
    request = recorded(dpo)
    url = f"/api/access-requests/{request['id']}"
    unknown = dpo.post(f"{url}/refuse", json={"reason": "too_busy", "explanation": EXPLANATION})
    assert unknown.status_code == 422 and "reason" in unknown.text
    refused = dpo.post(f"{url}/refuse", json={"reason": "no_footage", "explanation": EXPLANATION})
    assert refused.status_code == 200
    assert refused.json()["refusal"]["reason"] == "no_footage" and refused.json()["state"] == "refused"
    assert (
        dpo.post(
            f"{url}/scope", json={"cameras": ["vil-1"], "start": START.isoformat(), "end": END.isoformat()}
        ).status_code
        == 409
    )
    event = next(e for e in world.audit.events if e.action is AuditAction.ACCESS_REQUEST_REFUSED)
    assert event.details["reason"] == "no_footage" and event.details["explanation_length"] == len(EXPLANATION)
    assert_no_personal_data(world)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"received_on": (T0 + timedelta(days=2)).date().isoformat()}, "future"),
        ({"received_on": (T0 - timedelta(days=400)).date().isoformat()}, "365 days"),
        ({"identity_document": "library_card"}, "identity_document"),
        ({"requester_name": ""}, "requester_name"),
        ({"description": "x" * 4001}, "description"),
        ({"identity_checked_by": "x" * 201}, "identity_checked_by"),
        ({"identity_number": "123456"}, "identity_number"),
    ],
)
def test_a_bad_or_unknown_field_of_a_request_answers_422_naming_it(
    world: World, changes: dict[str, Any], named: str
) -> None:
    answer = world.login("dpo.a").post("/api/access-requests", json=request_body(**changes))
    assert answer.status_code == 422, answer.text
    assert named in answer.text


@pytest.mark.parametrize(
    ("scope", "named"),
    [
        ({"end": (T0 + timedelta(hours=1)).isoformat()}, "future"),
        ({"start": (END - timedelta(hours=25)).isoformat()}, "24 h"),
        ({"start": END.isoformat()}, "after start"),
        ({"start": "2026-11-28T08:00:00"}, "time zone"),
        ({"cameras": []}, "cameras"),
        ({"cameras": [f"c{i}" for i in range(17)]}, "cameras"),
        ({"zone": "x"}, "zone"),
    ],
)
def test_a_bad_scope_answers_422_naming_what_is_wrong(world: World, scope: dict[str, Any], named: str) -> None:
    dpo = world.login("dpo.a")
    request = recorded(dpo)
    body = {"cameras": ["vil-1"], "start": START.isoformat(), "end": END.isoformat()} | scope
    answer = dpo.post(f"/api/access-requests/{request['id']}/scope", json=body)
    assert answer.status_code == 422, answer.text
    assert named in answer.text


@pytest.mark.parametrize(
    ("box", "named"),
    [
        ({"x1": 0.6, "x2": 0.4}, "x1 must be less than x2"),
        ({"x2": 1.5}, "x2"),
        ({"camera_id": "bron-1"}, "not in the scope"),
        ({"start_s": 5, "end_s": 2}, "end_s"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_box_answers_422(world: World, box: dict[str, Any], named: str) -> None:
    dpo = world.login("dpo.a")
    request = recorded(dpo)
    url = f"/api/access-requests/{request['id']}"
    dpo.post(f"{url}/scope", json={"cameras": ["vil-1"], "start": START.isoformat(), "end": END.isoformat()})
    body = {"camera_id": "vil-1", "x1": 0.1, "y1": 0.1, "x2": 0.3, "y2": 0.3} | box
    answer = dpo.post(f"{url}/copy", json={"manual": [body]})
    assert answer.status_code == 422, answer.text
    assert named in answer.text
    assert dpo.get(url).json()["state"] == "received"


def test_a_copy_needs_a_scope_first(world: World) -> None:
    dpo = world.login("dpo.a")
    request = recorded(dpo)
    answer = dpo.post(f"/api/access-requests/{request['id']}/copy", json={})
    assert answer.status_code == 409 and "scope" in answer.json()["error"]["message"]


def test_too_many_boxes_and_huge_bodies_are_refused(world: World) -> None:
    dpo = world.login("dpo.a")
    request = recorded(dpo)
    url = f"/api/access-requests/{request['id']}"
    box = {"camera_id": "vil-1", "x1": 0.1, "y1": 0.1, "x2": 0.3, "y2": 0.3}
    assert dpo.post(f"{url}/copy", json={"manual": [box] * 201}).status_code == 422
    huge = dpo.post("/api/access-requests", json=request_body(description="x" * 400_000))
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "too_large"


def test_a_failed_copy_says_why_and_can_be_prepared_again(world: World) -> None:
    from vigie.domain.access_requests import AccessRequestError

    world.copy_maker.fails = AccessRequestError("nothing is recorded for vil-2 over the period")
    dpo = world.login("dpo.a")
    request = recorded(dpo)
    url = f"/api/access-requests/{request['id']}"
    dpo.post(f"{url}/scope", json={"cameras": ["vil-2"], "start": START.isoformat(), "end": END.isoformat()})
    assert dpo.post(f"{url}/copy", json={}).status_code == 202
    failed = wait_for(lambda: _failed(dpo, url), 10, "the copy to fail")
    assert failed["state"] == "received" and failed["copy_error"] == "nothing is recorded for vil-2 over the period"
    world.copy_maker.fails = RuntimeError("/secret/path/segment.mp4: codec exploded")
    assert dpo.post(f"{url}/copy", json={}).status_code == 202
    wait_for(lambda: "RuntimeError" in (dpo.get(url).json()["copy_error"] or ""), 10, "the second failure")
    message = dpo.get(url).json()["copy_error"]
    assert "secret" not in message and "Traceback" not in message
    world.copy_maker.fails = None
    assert dpo.post(f"{url}/copy", json={}).status_code == 202
    ready = wait_for(lambda: _in_review(dpo, url), 10, "the third copy")
    assert ready["copy_error"] is None and ready["copy"]["files"][0]["name"].startswith("vil-2_")
    assert world.copy_maker.asked[-1][2].endswith("copy-3")


def test_progress_is_shown_while_preparing_and_one_copy_at_a_time(world: World) -> None:
    world.copy_maker.hold = threading.Event()
    dpo = world.login("dpo.a")
    request = recorded(dpo)
    url = f"/api/access-requests/{request['id']}"
    dpo.post(f"{url}/scope", json={"cameras": ["vil-1"], "start": START.isoformat(), "end": END.isoformat()})
    started = dpo.post(f"{url}/copy", json={})
    assert started.status_code == 202 and started.json()["state"] == "preparing"
    assert world.copy_maker.started.wait(10)
    assert dpo.get(url).json()["progress"] == {"done": 0, "total": 25}
    second = dpo.post(f"{url}/copy", json={})
    assert second.status_code == 409 and "preparing" in second.json()["error"]["message"]
    world.copy_maker.hold.set()
    wait_for(lambda: _in_review(dpo, url), 10, "the copy to be ready")


def test_file_names_are_checked_against_the_copy(world: World) -> None:
    dpo = world.login("dpo.a")
    ready = prepared(world, dpo)
    url = f"/api/access-requests/{ready['id']}"
    for name in ("..%2F..%2Fapi.db", "original", "x.mp4"):
        assert dpo.get(f"{url}/copy/{name}").status_code == 404
    assert dpo.get(f"{url}/original/bron-1").status_code == 404
    name = ready["copy"]["files"][0]["name"]

    def reads() -> list[object]:
        return [
            e
            for e in world.audit.events
            if e.action is AuditAction.ACCESS_REQUEST_READ and e.details.get("file") == name
        ]

    dpo.get(f"{url}/copy/{name}")
    dpo.get(f"{url}/copy/{name}")
    assert len(reads()) == 1, "the first read per person and file is audited"
    world.login("dpo.b").get(f"{url}/copy/{name}")
    assert len(reads()) == 2


def test_the_schema_literals_are_the_domains_vocabulary() -> None:
    assert set(get_args(StateName)) == {s.value for s in AccessRequestState}
    assert set(get_args(DocumentName)) == {d.value for d in IdentityDocument}
    assert set(get_args(ReasonName)) == {r.value for r in RefusalReason}


def test_posts_need_the_csrf_token(world: World) -> None:
    dpo = world.login("dpo.a")
    del dpo.headers["X-CSRF-Token"]
    answer = dpo.post("/api/access-requests", json=request_body())
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "csrf"


def test_a_request_read_again_and_again_is_audited_once_per_state(world: World) -> None:
    dpo = world.login("dpo.a")
    request = recorded(dpo)
    url = f"/api/access-requests/{request['id']}"

    def reads() -> list[str]:
        return [
            str(e.details["state"])
            for e in world.audit.events
            if e.action is AuditAction.ACCESS_REQUEST_READ and e.details.get("resource") == "request"
        ]

    for _ in range(3):  # the console polls a request while its copy is made
        assert dpo.get(url).status_code == 200
    assert reads() == ["received"]
    dpo.post(f"{url}/refuse", json={"reason": "person_not_found", "explanation": EXPLANATION})
    dpo.get(url)
    dpo.get(url)
    assert reads() == ["received", "refused"]
    world.login("dpo.b").get(url)
    assert reads() == ["received", "refused", "refused"]
