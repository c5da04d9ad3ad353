"""Forensic object search within a case (issue 22) through the API: an investigator starts a search of the case's
recordings (202 with a job), polls it until done, reads the objects by class and opens a thumbnail; anything
outside the case's scope, a closed case, an unknown field or a person without the case permission is refused;
the audit log names the case, cameras and period of each search and never what was found about anyone."""

from __future__ import annotations

import socket
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.analytics.onnx_models import DATA, MODELS, require
from tests.api.test_cases_api import END, START, requisition
from tests.api.world import World, build_world
from tests.support.clip_segments import cut_segments
from vigie.domain.audit import AuditAction
from vigie.domain.case_searches import SearchJob, SearchState
from vigie.domain.users import Role
from vigie.storage.case_searches import SqlCaseSearches

RECORDED = START + timedelta(hours=1)
"""When the clip's first picture was recorded (within the case's period)."""
CLIP = DATA / "video" / "car-detection.mp4"


@pytest.fixture
def world(db: Engine) -> World:
    world = build_world(db)
    world.add("inv.bron", [Role.INVESTIGATOR], "bron")
    return world


def open_case(client: TestClient, **changes: Any) -> dict[str, Any]:
    body = requisition(purpose="délit de fuite rue Francis-de-Pressensé", **changes)
    answer = client.post("/api/cases", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def wait_done(client: TestClient, case_id: int, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/api/cases/{case_id}/searches/{job_id}")
        assert job.status_code == 200, job.text
        if job.json()["state"] in ("done", "failed"):
            return dict(job.json())
        time.sleep(0.1)
    raise AssertionError(f"search {job_id} still running after 120 s")


def test_a_search_runs_then_its_objects_are_read_by_class_with_a_thumbnail(world: World, tmp_path: Path) -> None:
    require(MODELS / "yolox_nano.onnx")
    world.footage["vil-1"] = cut_segments(require(CLIP), tmp_path, RECORDED, seconds=4.0, limit=21.0)
    client = world.login("inv.vil")
    case = open_case(client)
    window = {
        "start": (RECORDED + timedelta(seconds=15)).isoformat(),
        "end": (RECORDED + timedelta(seconds=19)).isoformat(),
    }

    started = client.post(f"/api/cases/{case['id']}/searches", json={"camera_ids": ["vil-1"], **window})

    assert started.status_code == 202, started.text
    assert started.json()["state"] in ("queued", "running", "done") and started.json()["camera_ids"] == ["vil-1"]
    job = wait_done(client, case["id"], started.json()["id"])
    assert job["state"] == "done" and job["progress"] == 1.0 and job["found"] >= 1, job

    page = client.get(f"/api/cases/{case['id']}/objects", params={"class": ["car", "bus", "truck"]})
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert items and page.json()["next_cursor"] is None
    red = [o for o in items if o["colour"] == "red"]
    assert red, items
    first = red[0]
    assert set(first) == {
        "id",
        "camera_id",
        "class",
        "colour",
        "first_seen",
        "last_seen",
        "direction",
        "zones",
        "lines",
        "box",
        "thumbnail_at",
    }
    assert first["camera_id"] == "vil-1" and set(first["box"]) == {"x", "y", "w", "h"}
    assert (
        client.get(f"/api/cases/{case['id']}/objects", params={"class": "person", "colour": "red"}).status_code == 422
    )
    assert client.get(f"/api/cases/{case['id']}/objects", params={"class": "person"}).json()["items"] == []

    picture = client.get(f"/api/cases/{case['id']}/objects/{first['id']}/thumbnail.jpg")
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert picture.content[:2] == b"\xff\xd8"
    # the DPO reads the results, but searches nothing
    dpo = world.login("dpo.vil")
    assert dpo.get(f"/api/cases/{case['id']}/objects").status_code == 200
    assert dpo.post(f"/api/cases/{case['id']}/searches", json={}).status_code == 403

    events = world.audit.events
    started_events = [e for e in events if e.action is AuditAction.CASE_SEARCH_STARTED]
    finished = [e for e in events if e.action is AuditAction.CASE_SEARCH_FINISHED]
    assert len(started_events) == 1 and len(finished) == 1
    assert started_events[0].target == f"case:{case['id']}"
    assert started_events[0].details["camera_ids"] == ["vil-1"]
    assert finished[0].details["outcome"] == "done" and finished[0].details["objects_stored"] == job["found"]
    reads = [e for e in events if e.action is AuditAction.CASE_OBJECTS_READ]
    assert {e.details["resource"] for e in reads} == {"objects", "thumbnail"}
    for event in started_events + finished + reads:  # what was found is never written in the audit log
        assert not {"colour", "direction", "box", "zones", "lines"} & set(event.details), event.details


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"camera_ids": ["vil-3"]}, 403, "vil-3"),
        ({"start": (START - timedelta(hours=1)).isoformat()}, 403, "scope"),
        ({"end": (END + timedelta(minutes=1)).isoformat()}, 403, "scope"),
        ({"camera_ids": ["vil-1"], "colour": "red"}, 422, "colour"),
        ({"camera_ids": []}, 422, "camera_ids"),
    ],
)
def test_a_search_outside_the_scope_or_malformed_is_refused(
    world: World, body: dict[str, Any], status: int, named: str
) -> None:
    client = world.login("inv.vil")
    case = open_case(client)
    answer = client.post(f"/api/cases/{case['id']}/searches", json=body)
    assert answer.status_code == status, answer.text
    assert named in answer.text
    if status == 403:
        assert world.audit.events[-1].action is AuditAction.ACCESS_DENIED
    assert AuditAction.CASE_SEARCH_STARTED not in [e.action for e in world.audit.events]


def test_a_closed_case_is_searched_no_more(world: World) -> None:
    client = world.login("inv.vil")
    case = open_case(client)
    closed = client.post(f"/api/cases/{case['id']}/close", json={"hold_decision": "lifted", "reason": "classée"})
    assert closed.status_code == 200
    answer = client.post(f"/api/cases/{case['id']}/searches", json={})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "case_closed"
    assert world.audit.events[-1].action is AuditAction.ACCESS_DENIED


def test_other_people_neither_search_nor_read(world: World) -> None:
    case = open_case(world.login("inv.vil"))
    operator = world.login("op.vil")
    assert operator.post(f"/api/cases/{case['id']}/searches", json={}).status_code == 403
    assert operator.get(f"/api/cases/{case['id']}/objects").status_code == 403
    bron = world.login("inv.bron")
    assert bron.post(f"/api/cases/{case['id']}/searches", json={}).status_code == 404
    assert bron.get(f"/api/cases/{case['id']}/objects").status_code == 404
    assert bron.get(f"/api/cases/{case['id']}/searches/1").status_code == 404


def test_a_search_without_footage_finds_nothing_and_unknown_objects_answer_404(world: World) -> None:
    client = world.login("inv.vil")
    case = open_case(client)
    started = client.post(f"/api/cases/{case['id']}/searches", json={"camera_ids": ["vil-2"]})
    assert started.status_code == 202
    job = wait_done(client, case["id"], started.json()["id"])
    assert job["state"] == "done" and job["found"] == 0
    assert client.get(f"/api/cases/{case['id']}/searches/999").status_code == 404
    assert client.get(f"/api/cases/{case['id']}/objects/5/thumbnail.jpg").status_code == 404
    assert client.get(f"/api/cases/{case['id']}/objects", params={"cursor": "nope"}).status_code == 422


def test_searching_a_window_again_replaces_its_objects_and_closing_purges_them(world: World, tmp_path: Path) -> None:
    require(MODELS / "yolox_nano.onnx")
    world.footage["vil-1"] = cut_segments(require(CLIP), tmp_path, RECORDED, seconds=4.0, limit=21.0)
    client = world.login("inv.vil")
    case = open_case(client)
    objects = f"/api/cases/{case['id']}/objects"
    window = {
        "camera_ids": ["vil-1"],
        "start": (RECORDED + timedelta(seconds=15)).isoformat(),
        "end": (RECORDED + timedelta(seconds=19)).isoformat(),
    }
    first = wait_done(client, case["id"], client.post(f"/api/cases/{case['id']}/searches", json=window).json()["id"])
    before = client.get(objects, params={"limit": 500}).json()["items"]
    assert first["state"] == "done" and len(before) == first["found"] >= 1

    second = wait_done(client, case["id"], client.post(f"/api/cases/{case['id']}/searches", json=window).json()["id"])

    after = client.get(objects, params={"limit": 500}).json()["items"]
    assert second["state"] == "done" and second["found"] == first["found"]
    assert len(after) == len(before), after  # one set, not two
    listed = client.get(f"/api/cases/{case['id']}/searches").json()["items"]
    assert [(j["id"], j["kind"], j["found"]) for j in listed] == [
        (second["id"], "objects", second["found"]),
        (first["id"], "objects", first["found"]),
    ]

    closed = client.post(f"/api/cases/{case['id']}/close", json={"hold_decision": "kept", "reason": "jugement"})

    assert closed.status_code == 200, closed.text
    assert client.get(objects).json()["items"] == []
    assert [j["found"] for j in client.get(f"/api/cases/{case['id']}/searches").json()["items"]] == [
        second["found"],
        first["found"],
    ]
    [closing] = [e for e in world.audit.events if e.action is AuditAction.CASE_CLOSED]
    assert closing.details["results_purged"] == {"objects": len(after), "motion_hits": 0}


def test_searches_left_by_a_stopped_server_are_failed_at_start(world: World) -> None:
    client = world.login("inv.vil")
    case = open_case(client)
    service = client.app.state.services.case_search  # type: ignore[attr-defined]
    store = SqlCaseSearches(world.engine)
    dead = subprocess.Popen(["true"])  # a process of this host that is gone
    dead.wait()
    now = world.clock()

    def left(runner: str, heartbeat: datetime, state: SearchState = SearchState.RUNNING) -> int:
        job = SearchJob(
            case_id=case["id"],
            camera_ids=("vil-1",),
            start=START,
            end=END,
            requested_by="inv.vil",
            requested_at=now - timedelta(minutes=5),
            state=state,
            progress=0.4,
            found=3,
            runner=runner,
            heartbeat_at=heartbeat,
        )
        return store.add(job).id or 0

    killed = left(f"{socket.gethostname()}:{dead.pid}:dead0001", now - timedelta(seconds=2))
    silent = left("other-host:4242:silent01", now - timedelta(minutes=5), SearchState.QUEUED)
    alive = left("other-host:4343:alive001", now - timedelta(seconds=2))

    assert service.fail_abandoned() == 2

    jobs = {j["id"]: j for j in client.get(f"/api/cases/{case['id']}/searches").json()["items"]}
    for job_id in (killed, silent):
        assert jobs[job_id]["state"] == "failed", jobs[job_id]
        assert jobs[job_id]["error"] == "the server stopped during the search: start it again"
        assert jobs[job_id]["found"] == 3 and jobs[job_id]["finished_at"] is not None
    assert jobs[alive]["state"] == "running"  # another process, still saying it is alive: left alone
    failed = [e for e in world.audit.events if e.action is AuditAction.CASE_SEARCH_FINISHED]
    assert sorted(e.details["job_id"] for e in failed) == sorted([killed, silent])
    assert {e.details["outcome"] for e in failed} == {"failed"} and {e.actor for e in failed} == {"inv.vil"}
    assert service.fail_abandoned() == 0  # failed once, audited once

    world.clock.advance(timedelta(minutes=2))  # the other process has said nothing since: failed when read
    read = client.get(f"/api/cases/{case['id']}/searches/{alive}").json()
    assert read["state"] == "failed" and read["error"] == "the server stopped during the search: start it again"
