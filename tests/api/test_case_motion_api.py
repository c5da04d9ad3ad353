"""Motion in a region within a case (issue 22) through the API: an investigator draws a region on a camera of the
case's scope and searches its recordings over a window (202 with a job of kind ``motion``); the spans where the
region changed are stored as the job's hits and read in time order (audited); a region over the red car's path finds
it, a still corner finds nothing; closing the case purges the hits and keeps the jobs (the case's history). Real
footage: the car clip cut into recorded segments, analysed by the real motion search."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.analytics.onnx_models import DATA, require
from tests.api.test_cases_api import END, START, requisition
from tests.api.world import World, build_world
from tests.support.clip_segments import cut_segments
from vigie.domain.audit import AuditAction
from vigie.domain.case_searches import SearchJob, SearchKind, SearchState
from vigie.domain.users import Role
from vigie.storage.case_searches import SqlCaseSearches

RECORDED = START + timedelta(hours=1)
"""When the clip's first picture was recorded (within the case's period)."""
CLIP = DATA / "video" / "car-detection.mp4"
RED_CAR_PATH = [[0.45, 0.05], [0.65, 0.05], [0.65, 0.95], [0.45, 0.95]]
"""Where the red car drives up the picture, between 14 s and 20 s of the clip."""
STILL_CORNER = [[0.8, 0.6], [0.97, 0.6], [0.97, 0.95], [0.8, 0.95]]
"""Tarmac where nothing passes."""


@pytest.fixture
def world(db: Engine, tmp_path: Path) -> World:
    world = build_world(db)
    world.add("inv.bron", [Role.INVESTIGATOR], "bron")
    world.footage["vil-1"] = cut_segments(require(CLIP), tmp_path, RECORDED, seconds=4.0, limit=21.0)
    return world


def open_case(client: TestClient) -> dict[str, Any]:
    answer = client.post("/api/cases", json=requisition(purpose="vol de véhicule, parking rue Anatole-France"))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def at(seconds: float) -> datetime:
    return RECORDED + timedelta(seconds=seconds)


def motion(region: list[list[float]], /, **changes: Any) -> dict[str, Any]:
    body = {"camera_id": "vil-1", "start": at(12).isoformat(), "end": at(21).isoformat(), "region": region}
    return body | changes


def wait_done(client: TestClient, case_id: int, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/cases/{case_id}/searches/{job_id}")
        assert job.status_code == 200, job.text
        if job.json()["state"] in ("done", "failed"):
            return dict(job.json())
        time.sleep(0.05)
    raise AssertionError(f"search {job_id} still running after 60 s")


def test_motion_over_the_cars_path_is_found_a_still_corner_finds_none_and_closing_purges_the_hits(
    world: World,
) -> None:
    client = world.login("inv.vil")
    case = open_case(client)
    searches = f"/api/cases/{case['id']}/searches"

    started = client.post(f"/api/cases/{case['id']}/motion-searches", json=motion(RED_CAR_PATH, min_changed=0.05))

    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "motion" and started.json()["camera_ids"] == ["vil-1"]
    assert started.json()["parameters"] == {"region": RED_CAR_PATH, "min_changed": 0.05, "min_seconds": 0.0}
    path_job = wait_done(client, case["id"], started.json()["id"])
    assert path_job["state"] == "done" and path_job["found"] == 1, path_job
    hits = client.get(f"{searches}/{path_job['id']}/hits")
    assert hits.status_code == 200, hits.text
    [hit] = hits.json()["items"]
    assert set(hit) == {"id", "camera_id", "start", "end", "peak_at", "peak_fraction"}
    start, end, peak = (datetime.fromisoformat(hit[k]) for k in ("start", "end", "peak_at"))
    assert at(14) <= start < end <= at(20.5) and start <= peak <= end, hit
    assert 0.05 <= hit["peak_fraction"] <= 1.0 and hit["camera_id"] == "vil-1"

    corner = client.post(f"/api/cases/{case['id']}/motion-searches", json=motion(STILL_CORNER))
    corner_job = wait_done(client, case["id"], corner.json()["id"])
    assert corner_job["state"] == "done" and corner_job["found"] == 0
    assert corner_job["parameters"]["min_changed"] == 0.02  # the analysis's default
    assert client.get(f"{searches}/{corner_job['id']}/hits").json()["items"] == []

    listed = client.get(searches)
    assert listed.status_code == 200
    assert [j["id"] for j in listed.json()["items"]] == [corner_job["id"], path_job["id"]]  # newest first
    # the DPO reads the case's searches and hits, and searches nothing
    dpo = world.login("dpo.vil")
    assert dpo.get(f"{searches}/{path_job['id']}/hits").status_code == 200
    assert dpo.post(f"/api/cases/{case['id']}/motion-searches", json=motion(RED_CAR_PATH)).status_code == 403

    closed = client.post(f"/api/cases/{case['id']}/close", json={"hold_decision": "lifted", "reason": "classée"})

    assert closed.status_code == 200, closed.text
    assert client.get(f"{searches}/{path_job['id']}/hits").json()["items"] == []
    kept = client.get(searches).json()["items"]  # the jobs stay: who searched what, when, and what it found
    assert [(j["id"], j["state"], j["found"]) for j in kept] == [
        (corner_job["id"], "done", 0),
        (path_job["id"], "done", 1),
    ]

    events = world.audit.events
    [closing] = [e for e in events if e.action is AuditAction.CASE_CLOSED]
    assert closing.details["results_purged"] == {"objects": 0, "motion_hits": 1}
    started_events = [e for e in events if e.action is AuditAction.CASE_SEARCH_STARTED]
    assert [e.details["kind"] for e in started_events] == ["motion", "motion"]
    assert started_events[0].details["parameters"]["region"] == RED_CAR_PATH
    finished = [e for e in events if e.action is AuditAction.CASE_SEARCH_FINISHED]
    assert [e.details["hits_stored"] for e in finished] == [1, 0]
    reads = [e for e in events if e.action is AuditAction.CASE_OBJECTS_READ]
    assert {e.details["resource"] for e in reads} == {"motion_hits"}
    assert [e.details["answered"] for e in reads if e.actor == "dpo.vil"] == [1]


@pytest.mark.parametrize(
    ("changes", "status", "named"),
    [
        ({"camera_id": "vil-3"}, 403, "vil-3"),
        ({"start": (START - timedelta(hours=1)).isoformat()}, 403, "scope"),
        ({"end": (END + timedelta(minutes=1)).isoformat()}, 403, "scope"),
        ({"region": [[0.1, 0.1], [0.5, 0.1]]}, 422, "region"),
        ({"region": [[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]]}, 422, "region"),
        ({"region": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]}, 422, "no area"),
        ({"region": [[0.1, 0.1]] * 33}, 422, "region"),
        ({"min_changed": 0}, 422, "min_changed"),
        ({"min_seconds": -1}, 422, "min_seconds"),
        ({"sensitivity": 0.9}, 422, "sensitivity"),
    ],
)
def test_a_motion_search_outside_the_scope_or_malformed_is_refused(
    world: World, changes: dict[str, Any], status: int, named: str
) -> None:
    client = world.login("inv.vil")
    case = open_case(client)

    answer = client.post(f"/api/cases/{case['id']}/motion-searches", json=motion(RED_CAR_PATH, **changes))

    assert answer.status_code == status, answer.text
    assert named in answer.text
    if status == 403:
        assert world.audit.events[-1].action is AuditAction.ACCESS_DENIED
    assert AuditAction.CASE_SEARCH_STARTED not in [e.action for e in world.audit.events]
    assert client.get(f"/api/cases/{case['id']}/searches").json()["items"] == []


def test_other_people_neither_search_nor_read_hits(world: World) -> None:
    client = world.login("inv.vil")
    case = open_case(client)
    job = wait_done(
        client,
        case["id"],
        client.post(f"/api/cases/{case['id']}/motion-searches", json=motion(STILL_CORNER)).json()["id"],
    )
    hits = f"/api/cases/{case['id']}/searches/{job['id']}/hits"

    operator = world.login("op.vil")
    assert operator.post(f"/api/cases/{case['id']}/motion-searches", json=motion(STILL_CORNER)).status_code == 403
    assert operator.get(hits).status_code == 403
    assert operator.get(f"/api/cases/{case['id']}/searches").status_code == 403
    bron = world.login("inv.bron")
    assert bron.post(f"/api/cases/{case['id']}/motion-searches", json=motion(STILL_CORNER)).status_code == 404
    assert bron.get(hits).status_code == 404
    assert bron.get(f"/api/cases/{case['id']}/searches").status_code == 404
    assert client.get(f"/api/cases/{case['id']}/searches/{job['id'] + 1}/hits").status_code == 404


def test_closing_the_case_fails_its_searches_still_running_elsewhere(world: World) -> None:
    client = world.login("inv.vil")
    case = open_case(client)
    running = SqlCaseSearches(world.engine).add(
        SearchJob(
            case_id=case["id"],
            camera_ids=("vil-1",),
            start=at(0),
            end=at(21),
            requested_by="inv.vil",
            requested_at=world.clock(),
            kind=SearchKind.MOTION,
            parameters={"region": STILL_CORNER, "min_changed": 0.02, "min_seconds": 0.0},
            state=SearchState.RUNNING,
            runner="other-host:4242:abcd0123",  # another API process, alive
            heartbeat_at=world.clock(),
        )
    )

    closed = client.post(f"/api/cases/{case['id']}/close", json={"hold_decision": "lifted", "reason": "classée"})

    assert closed.status_code == 200, closed.text
    job = client.get(f"/api/cases/{case['id']}/searches/{running.id}").json()
    assert (
        job["state"] == "failed"
        and job["error"] == "the case was closed during the search: its results are purged with it"
    )
    [finished] = [e for e in world.audit.events if e.action is AuditAction.CASE_SEARCH_FINISHED]
    assert finished.details["job_id"] == running.id and finished.details["outcome"] == "failed"
    # its process, writing its progress next, learns it is over: nothing of it is written after the close
    assert not SqlCaseSearches(world.engine).save(replace(running, progress=0.5))
