"""The ``case_searches`` and ``case_motion_hits`` tables (issue 22; implements
:class:`vigie.domain.case_searches.CaseSearches`): the jobs of a case's searches and the hits of its motion searches.

A job's changes are written only while the stored job is still active (``save(if_state=…)``): two processes that
both see a dead process's job fail it once, and a job failed by another process is never revived by a late progress
write of its own."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, insert, select, update

from vigie.domain.case_searches import ACTIVE_STATES, MotionHit, SearchJob, SearchKind, SearchState
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import CaseMotionHitRow, CaseSearchRow, require_aware

_J = cast(Table, CaseSearchRow.__table__)  # a declarative class's table is a Table
_H = cast(Table, CaseMotionHitRow.__table__)
_LONGEST_LIST = 1000


class SqlCaseSearches:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = for_reading(engine)

    # --- jobs ---------------------------------------------------------------------------------------------------

    def add(self, job: SearchJob) -> SearchJob:
        if job.id is not None:
            raise ValueError(f"search {job.id} is already stored")
        values = {
            "case_id": job.case_id,
            "kind": job.kind.value,
            "camera_ids": json.dumps(list(job.camera_ids)),
            "start": require_aware(job.start, "search start"),
            "end": require_aware(job.end, "search end"),
            "parameters": json.dumps(dict(job.parameters), sort_keys=True),
            "requested_by": job.requested_by,
            "requested_at": require_aware(job.requested_at, "search requested_at"),
            **_changes(job),
        }
        with storage_errors(self._engine, f"record a search of case {job.case_id}"), self._engine.begin() as conn:
            job_id = conn.execute(insert(_J).returning(_J.c.id), values).scalar_one()
        return replace(job, id=int(job_id))

    def get(self, case_id: int, job_id: int) -> SearchJob | None:
        statement = select(_J).where(_J.c.case_id == case_id, _J.c.id == job_id)
        with storage_errors(self._engine, f"read search {job_id} of case {case_id}"), self._reader.connect() as conn:
            row = conn.execute(statement).first()
        return None if row is None else _job(row)

    def list(self, case_id: int, *, limit: int, offset: int) -> builtins.list[SearchJob]:
        statement = (
            select(_J)
            .where(_J.c.case_id == case_id)
            .order_by(_J.c.requested_at.desc(), _J.c.id.desc())
            .limit(max(1, min(limit, _LONGEST_LIST)))
            .offset(max(0, offset))
        )
        with storage_errors(self._engine, f"list the searches of case {case_id}"), self._reader.connect() as conn:
            return [_job(row) for row in conn.execute(statement)]

    def active(self) -> builtins.list[SearchJob]:
        statement = select(_J).where(_J.c.state.in_(sorted(ACTIVE_STATES))).order_by(_J.c.id)
        with storage_errors(self._engine, "list the searches in progress"), self._reader.connect() as conn:
            return [_job(row) for row in conn.execute(statement)]

    def save(self, job: SearchJob, *, if_state: Sequence[SearchState] = tuple(ACTIVE_STATES)) -> bool:
        if job.id is None:
            raise ValueError("save a stored search (with an id)")
        statement = (
            update(_J).where(_J.c.id == job.id, _J.c.state.in_([s.value for s in if_state])).values(**_changes(job))
        )
        with storage_errors(self._engine, f"record where search {job.id} stands"), self._engine.begin() as conn:
            return bool(conn.execute(statement).rowcount)

    def beat(self, runner: str, at: datetime) -> None:
        statement = (
            update(_J)
            .where(_J.c.runner == runner, _J.c.state.in_(sorted(ACTIVE_STATES)))
            .values(heartbeat_at=require_aware(at, "heartbeat"))
        )
        with storage_errors(self._engine, "say this process's searches are alive"), self._engine.begin() as conn:
            conn.execute(statement)

    # --- motion hits --------------------------------------------------------------------------------------------

    def add_hits(self, hits: Sequence[MotionHit]) -> int:
        if not hits:
            return 0
        rows = [
            {
                "case_id": h.case_id,
                "job_id": h.job_id,
                "camera_id": h.camera_id,
                "start": require_aware(h.start, "hit start"),
                "end": require_aware(h.end, "hit end"),
                "peak_at": require_aware(h.peak_at, "hit peak_at"),
                "peak_fraction": float(h.peak_fraction),
            }
            for h in hits
        ]
        with storage_errors(self._engine, f"store {len(rows)} motion hit(s)"), self._engine.begin() as conn:
            conn.execute(insert(_H), rows)
        return len(rows)

    def hits(self, case_id: int, job_id: int, *, limit: int, offset: int) -> builtins.list[MotionHit]:
        statement = (
            select(_H)
            .where(_H.c.job_id == job_id, _H.c.case_id == case_id)
            .order_by(_H.c.start, _H.c.id)
            .limit(max(1, min(limit, _LONGEST_LIST)))
            .offset(max(0, offset))
        )
        with storage_errors(self._engine, f"read the hits of search {job_id}"), self._reader.connect() as conn:
            return [
                MotionHit(
                    case_id=row.case_id,
                    job_id=row.job_id,
                    camera_id=row.camera_id,
                    start=row.start,
                    end=row.end,
                    peak_at=row.peak_at,
                    peak_fraction=row.peak_fraction,
                    id=row.id,
                )
                for row in conn.execute(statement)
            ]

    def purge_hits(self, case_id: int) -> int:
        with storage_errors(self._engine, f"purge the motion hits of case {case_id}"), self._engine.begin() as conn:
            result = conn.execute(delete(_H).where(_H.c.case_id == case_id))
            return int(getattr(result, "rowcount", 0) or 0)


def _changes(job: SearchJob) -> dict[str, Any]:
    """The columns that change while a job runs."""
    return {
        "state": job.state.value,
        "progress": float(job.progress),
        "found": int(job.found),
        "error": job.error,
        "finished_at": None if job.finished_at is None else require_aware(job.finished_at, "search finished_at"),
        "runner": job.runner[:128],
        "heartbeat_at": None if job.heartbeat_at is None else require_aware(job.heartbeat_at, "heartbeat"),
    }


def _job(row: Any) -> SearchJob:
    return SearchJob(
        id=row.id,
        case_id=row.case_id,
        kind=SearchKind(row.kind),
        camera_ids=tuple(json.loads(row.camera_ids)),
        start=row.start,
        end=row.end,
        parameters=json.loads(row.parameters),
        state=SearchState(row.state),
        progress=row.progress,
        found=row.found,
        error=row.error,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        finished_at=row.finished_at,
        runner=row.runner,
        heartbeat_at=row.heartbeat_at,
    )
