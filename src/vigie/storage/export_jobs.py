"""The ``export_jobs`` table (implements ``vigie.domain.export_jobs.ExportJobStore``): export jobs seen, cancelled
and downloaded through any API process (issue 17)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import sessionmaker

from vigie.domain.export_jobs import ACTIVE_STATES, StoredExportJob
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.repositories import rowcount
from vigie.storage.tables import ExportJobRow, require_aware


class SqlExportJobs:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def add(self, job: StoredExportJob) -> None:
        with storage_errors(self._engine, f"store export job {job.id}"), self._write.begin() as session:
            session.add(_row(job))

    def get(self, job_id: str) -> StoredExportJob | None:
        with storage_errors(self._engine, f"read export job {job_id}"), self._read.begin() as session:
            row = session.get(ExportJobRow, job_id)
            return None if row is None else _job(row)

    def owned_by(self, owner: str) -> list[StoredExportJob]:
        query = select(ExportJobRow).where(ExportJobRow.owner == owner)
        query = query.order_by(ExportJobRow.created_at.desc(), ExportJobRow.id.desc())
        with storage_errors(self._engine, "list export jobs"), self._read.begin() as session:
            return [_job(row) for row in session.scalars(query)]

    def active(self) -> list[StoredExportJob]:
        query = select(ExportJobRow).where(ExportJobRow.state.in_(sorted(ACTIVE_STATES)))
        with storage_errors(self._engine, "list active export jobs"), self._read.begin() as session:
            return [_job(row) for row in session.scalars(query.order_by(ExportJobRow.created_at))]

    def finished_ids(self) -> list[str]:
        query = select(ExportJobRow.id).where(ExportJobRow.state.not_in(sorted(ACTIVE_STATES)))
        with storage_errors(self._engine, "list finished export jobs"), self._read.begin() as session:
            return list(session.scalars(query.order_by(ExportJobRow.created_at, ExportJobRow.id)))

    def save(self, job: StoredExportJob, *, if_state: Sequence[str] = ()) -> bool:
        statement = (
            update(ExportJobRow)
            .where(ExportJobRow.id == job.id)
            .values(
                state=job.state,
                progress=job.progress,
                runner=job.runner,
                heartbeat_at=require_aware(job.heartbeat_at, "job.heartbeat_at"),
                document=json.dumps(dict(job.document), sort_keys=True),
            )
        )
        if if_state:
            statement = statement.where(ExportJobRow.state.in_(list(if_state)))
        with storage_errors(self._engine, f"update export job {job.id}"), self._write.begin() as session:
            return rowcount(session.execute(statement)) > 0

    def request_cancel(self, job_id: str) -> bool:
        statement = (
            update(ExportJobRow)
            .where(ExportJobRow.id == job_id, ExportJobRow.state.in_(sorted(ACTIVE_STATES)))
            .values(cancel_requested=True)
        )
        with storage_errors(self._engine, f"cancel export job {job_id}"), self._write.begin() as session:
            return rowcount(session.execute(statement)) > 0

    def beat(self, runner: str, at: datetime) -> None:
        statement = (
            update(ExportJobRow)
            .where(ExportJobRow.runner == runner, ExportJobRow.state.in_(sorted(ACTIVE_STATES)))
            .values(heartbeat_at=require_aware(at, "at"))
        )
        with storage_errors(self._engine, "mark export jobs alive"), self._write.begin() as session:
            session.execute(statement)

    def forget(self, job_ids: Sequence[str]) -> None:
        if not job_ids:
            return
        with storage_errors(self._engine, "forget export jobs"), self._write.begin() as session:
            session.execute(delete(ExportJobRow).where(ExportJobRow.id.in_(list(job_ids))))


def _row(job: StoredExportJob) -> ExportJobRow:
    return ExportJobRow(
        id=job.id,
        owner=job.owner,
        state=job.state,
        progress=job.progress,
        created_at=require_aware(job.created_at, "job.created_at"),
        runner=job.runner,
        heartbeat_at=require_aware(job.heartbeat_at, "job.heartbeat_at"),
        cancel_requested=job.cancel_requested,
        document=json.dumps(dict(job.document), sort_keys=True),
    )


def _job(row: ExportJobRow) -> StoredExportJob:
    return StoredExportJob(
        id=row.id,
        owner=row.owner,
        state=row.state,
        progress=row.progress,
        created_at=row.created_at,
        runner=row.runner,
        heartbeat_at=row.heartbeat_at,
        cancel_requested=row.cancel_requested,
        document=json.loads(row.document),
    )
