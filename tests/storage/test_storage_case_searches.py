"""The jobs of a case's searches and its motion hits (issue 22) on SQLite and PostgreSQL, and the replacement of a
window of a case's objects: a job comes back as stored; its changes are written only while it is active (a job
failed by one process is never revived by another's late write); a heartbeat touches only its process's active
jobs; hits are read per job in time order and purged per case; a new search of a window replaces that camera's
objects first seen in it, and nothing else."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, select
from tests.support.clocks import T0

from vigie.domain.case_objects import CaseObject, ObjectClass, ObjectQuery
from vigie.domain.case_searches import MotionHit, SearchJob, SearchKind, SearchState
from vigie.domain.cases import AuthorityKind, Case
from vigie.domain.geometry import Box
from vigie.storage.case_objects import SqlCaseObjects
from vigie.storage.case_searches import SqlCaseSearches
from vigie.storage.cases import SqlCaseRepo
from vigie.storage.tables import CaseObjectZoneRow


def open_case(db: Engine, reference: str = "PV-1") -> int:
    case = SqlCaseRepo(db).add(
        Case(
            commune_id="villeurbanne",
            reference=reference,
            requisition_ref="REQ-1",
            authority="OPJ Martin",
            authority_kind=AuthorityKind.OFFICER,
            requisition_date=date(2025, 4, 30),
            purpose="vol",
            camera_ids=("vil-1", "vil-2"),
            start=T0 - timedelta(days=1),
            end=T0 + timedelta(days=1),
            opened_by="inv.vil",
            opened_at=T0 + timedelta(days=2),
        )
    )
    assert case.id is not None
    return case.id


def an_object(case_id: int, first_seen: datetime, **changes: object) -> CaseObject:
    fields: dict[str, object] = {
        "case_id": case_id,
        "camera_id": "vil-1",
        "track_id": 7,
        "object_class": ObjectClass.CAR,
        "colour": None,
        "direction": None,
        "zones": (),
        "lines": (),
        "first_seen": first_seen,
        "last_seen": first_seen + timedelta(seconds=30),
        "box": Box(0.1, 0.2, 0.3, 0.25),
        "thumbnail_at": first_seen + timedelta(seconds=10),
    }
    return CaseObject(**(fields | changes))  # type: ignore[arg-type]


def a_job(case_id: int, **changes: object) -> SearchJob:
    fields: dict[str, object] = {
        "case_id": case_id,
        "camera_ids": ("vil-1",),
        "start": T0 - timedelta(hours=1),
        "end": T0,
        "requested_by": "inv.vil",
        "requested_at": T0 + timedelta(days=2),
        "kind": SearchKind.MOTION,
        "parameters": {"region": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5]], "min_changed": 0.02, "min_seconds": 0.0},
        "runner": "host:1:abcd",
        "heartbeat_at": T0 + timedelta(days=2),
    }
    return SearchJob(**(fields | changes))  # type: ignore[arg-type]


def test_a_job_comes_back_as_stored_and_ends_once(db: Engine) -> None:
    store = SqlCaseSearches(db)
    case_id = open_case(db)
    job = store.add(a_job(case_id))
    assert job.id is not None and store.get(case_id, job.id) == job
    assert store.get(case_id + 1, job.id) is None  # another case's job is not this case's

    running = replace(job, state=SearchState.RUNNING, progress=0.5, found=2)
    assert store.save(running) and store.get(case_id, job.id) == running
    failed = replace(running, state=SearchState.FAILED, error="stopped", finished_at=T0 + timedelta(days=3))
    assert store.save(failed)
    assert not store.save(replace(running, progress=0.9))  # a late write of the process taken for dead
    assert store.get(case_id, job.id) == failed
    assert store.active() == []


def test_jobs_are_listed_newest_first_and_beats_touch_their_own_active_jobs(db: Engine) -> None:
    store = SqlCaseSearches(db)
    case_id = open_case(db)
    jobs = [store.add(a_job(case_id, requested_at=T0 + timedelta(days=2, minutes=n))) for n in range(3)]
    other = store.add(a_job(case_id, runner="elsewhere:2:ef01", requested_at=T0 + timedelta(days=3)))
    done = replace(jobs[0], state=SearchState.DONE, finished_at=T0 + timedelta(days=2, hours=1))
    store.save(done)

    assert [j.id for j in store.list(case_id, limit=10, offset=0)] == [other.id, jobs[2].id, jobs[1].id, jobs[0].id]
    assert [j.id for j in store.list(case_id, limit=2, offset=1)] == [jobs[2].id, jobs[1].id]
    store.beat("host:1:abcd", T0 + timedelta(days=4))
    beats = {j.id: j.heartbeat_at for j in store.active()}
    assert beats == {
        jobs[1].id: T0 + timedelta(days=4),
        jobs[2].id: T0 + timedelta(days=4),
        other.id: T0 + timedelta(days=2),
    }
    assert store.get(case_id, done.id or 0) == done  # a finished job keeps its last heartbeat


def test_hits_are_read_per_job_in_time_order_and_purged_per_case(db: Engine) -> None:
    store = SqlCaseSearches(db)
    case_id, other_case = open_case(db), open_case(db, "PV-2")
    job = store.add(a_job(case_id))
    elsewhere = store.add(a_job(other_case))
    assert job.id is not None and elsewhere.id is not None

    def hit(case: int, job_id: int, second: int) -> MotionHit:
        at = T0 - timedelta(minutes=30) + timedelta(seconds=second)
        return MotionHit(case, job_id, "vil-1", at, at + timedelta(seconds=4), at + timedelta(seconds=1), 0.25)

    assert store.add_hits([hit(case_id, job.id, s) for s in (40, 10, 20)]) == 3
    store.add_hits([hit(other_case, elsewhere.id, 5)])

    read = store.hits(case_id, job.id, limit=10, offset=0)
    assert [(h.start - T0).total_seconds() for h in read] == [-1790.0, -1780.0, -1760.0]
    assert read[0] == replace(hit(case_id, job.id, 10), id=read[0].id)
    assert [h.id for h in store.hits(case_id, job.id, limit=1, offset=1)] == [read[1].id]
    assert store.hits(other_case, job.id, limit=10, offset=0) == []
    assert store.purge_hits(case_id) == 3
    assert store.hits(case_id, job.id, limit=10, offset=0) == []
    assert len(store.hits(other_case, elsewhere.id, limit=10, offset=0)) == 1
    assert store.get(case_id, job.id) == job  # the job stays: the case's history


def test_a_window_replaced_leaves_the_rest_of_the_case(db: Engine) -> None:
    objects = SqlCaseObjects(db)
    case_id = open_case(db)
    start, end = T0, T0 + timedelta(minutes=10)
    inside = an_object(case_id, start + timedelta(minutes=1), zones=("parvis",))
    before = an_object(case_id, start - timedelta(seconds=1))
    at_end = an_object(case_id, end)
    other_camera = an_object(case_id, start + timedelta(minutes=2), camera_id="vil-2")
    objects.add_many([inside, before, at_end, other_camera])
    again = an_object(case_id, start + timedelta(minutes=3), track_id=9, lines=("entree",))

    ids = objects.replace_window(case_id, "vil-1", start, end, [again])

    page = objects.query(ObjectQuery(case_id=case_id, limit=50))
    assert sorted((o.camera_id, o.first_seen) for o in page.objects) == sorted(
        (o.camera_id, o.first_seen) for o in (again, before, at_end, other_camera)
    )
    assert [o.id for o in page.objects if o.track_id == 9] == ids
    with db.connect() as conn:  # the replaced object's zone went with it
        assert conn.execute(select(func.count()).select_from(CaseObjectZoneRow)).scalar_one() == 1
    assert objects.replace_window(case_id, "vil-1", start, end, []) == []
    assert objects.count(ObjectQuery(case_id=case_id)) == 3
