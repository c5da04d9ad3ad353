"""The day an export is handed to the prosecutor is recorded (issue 14, L5, R252-11): ``POST
/api/exports/{id}/transmission`` with the day and the requisition reference writes that day into the destruction
register line of every recording exported, is audited, and is refused for a day in the future, a day before the
export, another requisition, someone who may not export or does not see the cameras. An export made before a
restart, or at the command line, is found by its id or its manifest's SHA-256 in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.audit_world import keys_dir_of
from tests.api.export_world import data_dir_of, open_test_exports
from tests.api.world import CAMERAS, T0, TODAY, World, build_world
from tests.recording.export_samples import record
from tests.support.waiting import wait_for
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.users import Role
from vigie.governance.audit import AuditKeyring
from vigie.services.access import Principal
from vigie.services.exports import ExportService
from vigie.storage.recording import SqlDestructionRegister, SqlSegmentIndex

REQUISITION = "PV 2026/001234"
BODY: dict[str, Any] = {
    "camera_ids": ["vil-1"],
    "start": T0.isoformat(),
    "end": (T0 + timedelta(seconds=6)).isoformat(),
    "reason": "rixe place Lazare-Goujon",
    "requisition_ref": REQUISITION,
}


@pytest.fixture
def world(db: Engine) -> Iterator[World]:
    world = build_world(db, sql_audit=True)  # what is traced lands in the real chain: the export's history
    world.add("inv2.vil", [Role.INVESTIGATOR])
    world.add("inv.bron", [Role.INVESTIGATOR], "bron")
    index = SqlSegmentIndex(db)
    for segment in record(data_dir_of(db) / "segments", "vil-1", [(T0, 6)]):  # 3 segments of 2 s
        index.add(segment)
    yield world
    assert world.exports is not None
    world.exports.close()


def exported(world: World) -> tuple[TestClient, dict[str, Any]]:
    client = world.login("inv.vil")
    asked = client.post("/api/exports", json=BODY)
    assert asked.status_code == 202, asked.text

    def ended() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/api/exports/{asked.json()['id']}").json()
        return job if job["state"] in {"done", "failed"} else None

    job = wait_for(ended, 60, "the export to end", every=0.02)
    assert job is not None and job["state"] == "done", job
    return client, job


def transmitted(world: World) -> list[AuditEvent]:
    return [e for e in world.audit.events if e.action is AuditAction.EXPORT and e.details["outcome"] == "transmitted"]


def register_days(db: Engine) -> dict[str, str | None]:
    return {
        line.key: None if line.transmitted_to_prosecutor_at is None else line.transmitted_to_prosecutor_at.isoformat()
        for line in SqlDestructionRegister(db).all()
    }


def test_the_transmission_day_lands_in_the_register_of_every_recording_exported(world: World, db: Engine) -> None:
    client, job = exported(world)
    assert job["transmitted_on"] is None
    world.clock.advance(days=2)  # handed over two days later, recorded with a new session
    client = world.login("inv.vil")
    day = (TODAY + timedelta(days=1)).isoformat()
    answer = client.post(
        f"/api/exports/{job['id']}/transmission", json={"transmitted_on": day, "requisition_ref": " pv 2026/001234"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["export_id"], body["transmitted_on"], body["recordings"], body["recorded_by"]) == (
        job["id"],
        day,
        3,
        "inv.vil",
    )
    assert body["requisition_ref"] == REQUISITION
    # the day, as noon in Paris (11:00 UTC in winter), on each of the three recordings of the export
    lines = register_days(db)
    assert len(lines) == 3 and set(lines.values()) == {f"{day}T11:00:00+00:00"}
    [event] = transmitted(world)
    assert (event.actor, event.target) == ("inv.vil", "vil-1")
    assert event.details["export"] == job["id"] and event.details["transmitted_on"] == day
    assert event.details["manifest_sha256"] == job["manifest_sha256"]
    assert event.details["requisition_ref"] == REQUISITION and event.details["recordings"] == 3
    assert client.get(f"/api/exports/{job['id']}").json()["transmitted_on"] == day

    # a colleague who may export and sees the camera may record it too (a correction of the day)
    colleague = world.login("inv2.vil")
    today = world.clock().date().isoformat()
    again = colleague.post(
        f"/api/exports/{job['id']}/transmission", json={"transmitted_on": today, "requisition_ref": REQUISITION}
    )
    assert again.status_code == 200, again.text
    assert set(register_days(db).values()) == {f"{today}T11:00:00+00:00"}
    assert [e.actor for e in transmitted(world)] == ["inv.vil", "inv2.vil"]


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"transmitted_on": (TODAY + timedelta(days=1)).isoformat()}, 422, "is in the future"),
        ({"transmitted_on": (TODAY - timedelta(days=1)).isoformat()}, 422, "before the export was made"),
        ({"requisition_ref": "PV 2026/999999"}, 422, "was made for requisition 'PV 2026/001234'"),
        ({"requisition_ref": "   "}, 422, "give the reference"),
        ({"note": "x"}, 422, "unknown field(s) 'note'"),
    ],
)
def test_a_transmission_that_cannot_be_true_is_refused(
    world: World, db: Engine, change: dict[str, str], status: int, says: str
) -> None:
    client, job = exported(world)
    body = {"transmitted_on": TODAY.isoformat(), "requisition_ref": REQUISITION, **change}
    answer = client.post(f"/api/exports/{job['id']}/transmission", json=body)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]["message"]
    assert transmitted(world) == [] and set(register_days(db).values()) <= {None}


@pytest.mark.parametrize(("username", "status"), [("op.vil", 403), ("inv.bron", 404), ("inv.untrained", 403)])
def test_only_someone_who_may_export_that_camera_records_its_transmission(
    world: World, db: Engine, username: str, status: int
) -> None:
    world.add("inv.untrained", [Role.INVESTIGATOR], trained_ago=None)
    _, job = exported(world)
    body = {"transmitted_on": TODAY.isoformat(), "requisition_ref": REQUISITION}
    answer = world.login(username).post(f"/api/exports/{job['id']}/transmission", json=body)
    assert answer.status_code == status, answer.text
    if status == 403:
        denied = [e for e in world.audit.events if e.action is AuditAction.ACCESS_DENIED and e.actor == username]
        assert [e.target for e in denied] == [f"POST /api/exports/{job['id']}/transmission"]
    assert transmitted(world) == [] and set(register_days(db).values()) <= {None}
    unknown = world.login("inv.vil").post(f"/api/exports/{'0' * 32}/transmission", json=body)
    assert unknown.status_code == 404


def test_an_export_made_before_a_restart_is_found_by_its_id_or_its_manifest(world: World, db: Engine) -> None:
    _, job = exported(world)
    assert world.exports is not None and world.audit_chain is not None
    restarted: ExportService = open_test_exports(  # a new process: no job in memory, only the audit log
        db, world.audit, world.clock, AuditKeyring(keys_dir_of(db)), CAMERAS
    )
    investigator: Principal = world.auth.principal_for("inv.vil")
    try:
        done = restarted.record_transmission_as(
            investigator, job["id"], transmitted_on=TODAY, requisition_ref=REQUISITION
        )
        assert (done.export_id, done.camera_ids, done.recordings) == (job["id"], ("vil-1",), 3)
        assert done.start == T0 and done.end == T0 + timedelta(seconds=6)
        by_manifest = restarted.record_transmission_as(
            investigator, job["manifest_sha256"], transmitted_on=TODAY, requisition_ref=REQUISITION
        )
        assert by_manifest.export_id == job["id"]
    finally:
        restarted.close()
    noon = datetime(TODAY.year, TODAY.month, TODAY.day, 11, tzinfo=UTC).isoformat()
    assert set(register_days(db).values()) == {noon}
