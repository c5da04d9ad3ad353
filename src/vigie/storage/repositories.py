"""SQL implementations of the domain's ``EventRepo`` and ``CameraStatusRepo`` ports.

Each call is one short transaction on a fresh session; no session, connection or row outlives a call, so a
repository can be shared by threads. Writes start ``BEGIN IMMEDIATE`` on SQLite and reads start deferred (see
:mod:`vigie.storage.database`). Every SQLAlchemy or driver error comes out as a
:class:`~vigie.storage.errors.StorageError`.
"""

from __future__ import annotations

import builtins
import dataclasses
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, Executable, Result, Row, delete, func, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.geometry import Box
from vigie.domain.observation import Event
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.errors import EventNotFoundError
from vigie.storage.tables import CameraStatusRow, EventRow, HealthLogRow, require_aware

MAX_PAGE: Final = 1000
"""The most rows one ``list``/``history`` call returns: callers page with ``offset`` beyond that."""

PRUNE_BATCH: Final = 5000
"""Rows deleted per transaction when pruning, so the SQLite write lock is never held for long."""


class _Repo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)


class SqlEventRepo(_Repo):
    """Events in the ``events`` table (implements ``vigie.domain.ports.EventRepo``)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._batch = threading.local()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Writes (``add``, ``update``) made by this thread inside the block share one transaction, committed at
        its end: the writer thread's round writes many cameras' events at once. An error inside the block undoes
        them all; other threads' calls keep their own transactions. Nested blocks join the outer one."""
        if getattr(self._batch, "session", None) is not None:
            yield
            return
        with storage_errors(self._engine, "write a batch of events"), self._write.begin() as session:
            self._batch.session = session
            try:
                yield
            finally:
                self._batch.session = None

    @contextmanager
    def _writing(self, doing: str) -> Iterator[Session]:
        """The batch's session (this thread is in :meth:`batch`), or a transaction of its own."""
        session: Session | None = getattr(self._batch, "session", None)
        if session is not None:
            with storage_errors(self._engine, doing):
                yield session
            return
        with storage_errors(self._engine, doing), self._write.begin() as own:
            yield own

    def add(self, event: Event) -> Event:
        """Store a new event and return a copy carrying its id (the given event is left untouched)."""
        if event.id is not None:
            raise ValueError(f"event {event.id} is already stored: use update()")
        row = EventRow()
        _event_to_row(event, row)
        with self._writing("add an event") as session:
            session.add(row)
            session.flush()
            new_id = row.id
        return dataclasses.replace(event, id=new_id)

    def update(self, event: Event) -> None:
        """Overwrite every field of a stored event (typically a longer interval, a better score)."""
        if event.id is None:
            raise ValueError("cannot update an event that has no id: use add()")
        row = EventRow()
        _event_to_row(event, row)
        values = {column.key: getattr(row, column.key) for column in EventRow.__table__.columns if column.key != "id"}
        # one UPDATE by id, not a read of the row first: the single writer updates every growing event every 2 s
        # (hundreds a second at the métropole's size), and the read doubled each one's cost
        with self._writing(f"update event {event.id}") as session:
            done = session.execute(
                sql_update(EventRow).where(EventRow.id == event.id).values(**values),
                execution_options={"synchronize_session": False},
            )
            if rowcount(done) == 0:
                raise EventNotFoundError(f"event {event.id} does not exist")

    def update_many(self, events: Sequence[Event]) -> None:
        """Overwrite many stored events in one executemany (an UPDATE by id each): the single writer's round."""
        if not events:
            return
        rows = []
        for event in events:
            if event.id is None:
                raise ValueError("cannot update an event that has no id: use add()")
            row = EventRow()
            _event_to_row(event, row)
            rows.append(
                {column.key: getattr(row, column.key) for column in EventRow.__table__.columns} | {"id": event.id}
            )
        with self._writing(f"update {len(rows)} events") as session:
            session.execute(sql_update(EventRow), rows)  # SQLAlchemy's bulk UPDATE by primary key

    def get(self, event_id: int) -> Event | None:
        """The event with this id, or ``None``."""
        with storage_errors(self._engine, f"read event {event_id}"), self._read.begin() as session:
            row = session.get(EventRow, event_id)
            return None if row is None else _row_to_event(row)

    def list(
        self,
        *,
        camera_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        camera_ids: Sequence[str] | None = None,
    ) -> Sequence[Event]:
        """Events newest first (by start, then id); ``since`` keeps those that ended at or after it;
        ``camera_ids`` keeps those of these cameras (the ones the caller may see)."""
        _check_page(limit, offset)
        query = (
            select(EventRow)
            .where(*_event_filters(camera_id, since, camera_ids))
            .order_by(EventRow.started_at.desc(), EventRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with storage_errors(self._engine, "list events"), self._read.begin() as session:
            return [_row_to_event(row) for row in session.scalars(query)]

    def count(self, *, camera_id: str | None = None, since: datetime | None = None) -> int:
        """How many events ``list`` would page through with the same filters."""
        query = select(func.count()).select_from(EventRow).where(*_event_filters(camera_id, since))
        with storage_errors(self._engine, "count events"), self._read.begin() as session:
            return int(session.scalar(query) or 0)


class SqlCameraStatusRepo(_Repo):
    """Latest health per camera, and the history of its changes (implements ``CameraStatusRepo``)."""

    def record(self, health: CameraHealth) -> None:
        """Keep ``health`` as the camera's latest report; log it too when the state or the reason changed.

        A report older than the stored one (a late message) changes nothing, so ``latest`` never goes
        back in time. Repeated identical reports only refresh the latest row (fps, dropped frames): the log
        grows with transitions, not with the report rate.
        """
        at = require_aware(health.at, "health.at")
        doing = f"record the health of camera {health.camera_id}"
        with storage_errors(self._engine, doing), self._write.begin() as session:
            current = session.scalars(
                select(CameraStatusRow).where(CameraStatusRow.camera_id == health.camera_id).with_for_update()
            ).one_or_none()
            if current is not None and current.at > at:
                return
            new = (health.state.value, health.reason)
            changed = current is None or (current.state, current.reason) != new
            session.execute(self._upsert(health, at))
            if changed:
                session.add(HealthLogRow(camera_id=health.camera_id, state=new[0], reason=new[1], at=at))

    def record_many(self, reports: Iterable[CameraHealth]) -> int:
        """Keep many reports, of many cameras, in one transaction: what :meth:`record` does for each, in the given
        order, with one multi-row upsert of the latest row per camera and one multi-row insert into the log.

        Per camera, a report older than what is stored (or than an earlier report of the batch) changes nothing,
        and a change of state or reason is logged — several reports of one camera in a batch log each change.
        Return how many changes were logged."""
        batch = [(health, require_aware(health.at, "health.at")) for health in reports]
        if not batch:
            return 0
        cameras = sorted({health.camera_id for health, _ in batch})
        doing = f"record the health of {len(cameras)} cameras"
        with storage_errors(self._engine, doing), self._write.begin() as session:
            query = select(CameraStatusRow).where(CameraStatusRow.camera_id.in_(cameras)).with_for_update()
            current: dict[str, tuple[str, str, datetime]] = {
                row.camera_id: (row.state, row.reason, row.at) for row in session.scalars(query)
            }
            latest: dict[str, dict[str, Any]] = {}
            changes: builtins.list[dict[str, Any]] = []
            for health, at in batch:
                stored = current.get(health.camera_id)
                if stored is not None and stored[2] > at:
                    continue
                new = (health.state.value, health.reason)
                if stored is None or stored[:2] != new:
                    changes.append({"camera_id": health.camera_id, "state": new[0], "reason": new[1], "at": at})
                current[health.camera_id] = (new[0], new[1], at)
                latest[health.camera_id] = _status_values(health, at)
            if latest:
                session.connection().execute(self._upsert_statement(), builtins.list(latest.values()))
            if changes:
                session.connection().execute(insert(HealthLogRow), changes)
        return len(changes)

    def latest(self) -> Sequence[CameraHealth]:
        """The latest report of every camera that ever reported, by camera id."""
        # the table's rows, not ORM objects: 4,891 objects made and tracked took half of the read at the
        # métropole's size, and the consoles' camera lists read it every few seconds (vigie.api.camera_lists)
        query = select(CameraStatusRow.__table__).order_by(CameraStatusRow.camera_id)
        with storage_errors(self._engine, "read camera status"), self._read.begin() as session:
            return [_row_to_health(row) for row in session.execute(query)]

    def history(self, camera_id: str, limit: int = 100) -> Sequence[CameraHealth]:
        """The camera's logged state changes, newest first (without ``fps_in`` and ``frames_dropped``)."""
        _check_page(limit, 0)
        query = (
            select(HealthLogRow)
            .where(HealthLogRow.camera_id == camera_id)
            .order_by(HealthLogRow.at.desc(), HealthLogRow.id.desc())
            .limit(limit)
        )
        with storage_errors(self._engine, f"read the health history of {camera_id}"), self._read.begin() as s:
            return [
                CameraHealth(camera_id=row.camera_id, state=HealthState(row.state), at=row.at, reason=row.reason)
                for row in s.scalars(query)
            ]

    def prune_health_log(self, older_than: datetime) -> int:
        """Delete logged changes dated before ``older_than``; return how many were deleted.

        Deletes in batches of :data:`PRUNE_BATCH`, one short transaction each, so recording health is never
        blocked for long. The latest status of each camera is kept in ``camera_status`` whatever its age.
        """
        cutoff = require_aware(older_than, "older_than")
        oldest = select(HealthLogRow.id).where(HealthLogRow.at < cutoff).limit(PRUNE_BATCH).scalar_subquery()
        prune_batch = delete(HealthLogRow).where(HealthLogRow.id.in_(oldest))
        total = 0
        with storage_errors(self._engine, "prune the camera health log"):
            while True:
                with self._write.begin() as session:
                    deleted = rowcount(session.execute(prune_batch))
                total += deleted
                if deleted < PRUNE_BATCH:
                    return total

    def _upsert_statement(self) -> Executable:
        """The upsert of ``camera_status`` rows, for many rows at once (executemany)."""
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        insert_ = dialect.insert(CameraStatusRow)
        columns = ("state", "reason", "at", "fps_in", "frames_dropped")
        updated = {key: insert_.excluded[key] for key in columns}
        upsert: Executable = insert_.on_conflict_do_update(index_elements=[CameraStatusRow.camera_id], set_=updated)
        return upsert

    def _upsert(self, health: CameraHealth, at: datetime) -> Executable:
        values = _status_values(health, at)
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        insert = dialect.insert(CameraStatusRow).values(values)
        updated = {key: insert.excluded[key] for key in values if key != "camera_id"}
        upsert: Executable = insert.on_conflict_do_update(index_elements=[CameraStatusRow.camera_id], set_=updated)
        return upsert


def _status_values(health: CameraHealth, at: datetime) -> dict[str, Any]:
    return {
        "camera_id": health.camera_id,
        "state": health.state.value,
        "reason": health.reason,
        "at": at,
        "fps_in": health.fps_in,
        "frames_dropped": health.frames_dropped,
    }


def _check_page(limit: int, offset: int) -> None:
    if not 0 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 0 and {MAX_PAGE}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")


def _event_filters(
    camera_id: str | None, since: datetime | None, camera_ids: Sequence[str] | None = None
) -> builtins.list[ColumnElement[bool]]:
    filters: builtins.list[ColumnElement[bool]] = []
    if camera_ids is not None:
        filters.append(EventRow.camera_id.in_(list(camera_ids)))
    if camera_id is not None:
        filters.append(EventRow.camera_id == camera_id)
    if since is not None:
        filters.append(EventRow.ended_at >= require_aware(since, "since"))
    return filters


def _event_to_row(event: Event, row: EventRow) -> None:
    row.camera_id = event.camera_id
    row.module = event.module
    row.kind = event.kind
    row.started_at = require_aware(event.started_at, "event.started_at")
    row.ended_at = require_aware(event.ended_at, "event.ended_at")
    row.region_x, row.region_y = event.region.x, event.region.y
    row.region_w, row.region_h = event.region.w, event.region.h
    row.score = event.score
    row.model_version = event.model_version
    row.observations = event.observations


def _row_to_event(row: EventRow) -> Event:
    return Event(
        camera_id=row.camera_id,
        module=row.module,
        kind=row.kind,
        started_at=row.started_at,
        ended_at=row.ended_at,
        region=Box(row.region_x, row.region_y, row.region_w, row.region_h),
        score=row.score,
        model_version=row.model_version,
        observations=row.observations,
        id=row.id,
    )


def _row_to_health(row: CameraStatusRow | Row[Any]) -> CameraHealth:
    return CameraHealth(
        camera_id=row.camera_id,
        state=HealthState(row.state),
        at=row.at,
        reason=row.reason,
        fps_in=row.fps_in,
        frames_dropped=row.frames_dropped,
    )


def rowcount(result: Result[Any]) -> int:
    """Rows touched by a DELETE or UPDATE (0 when the driver cannot say)."""
    count = cast(CursorResult[Any], result).rowcount
    return max(int(count), 0)


if TYPE_CHECKING:
    from vigie.domain.ports import CameraStatusRepo, EventRepo

    def _implements_the_ports(engine: Engine) -> tuple[EventRepo, CameraStatusRepo]:
        """Never called: makes mypy prove the repositories satisfy the domain's protocols."""
        return SqlEventRepo(engine), SqlCameraStatusRepo(engine)
