"""The ``recording_gaps`` and ``recording_watch`` tables (issue 17): the recording-gap alarms of ``vigie serve``'s
gap watch, for the health view of every API process.

One writer (``vigie serve``, on its single writer's thread) writes what changed in a round, in one transaction;
any process reads. A gap is keyed by its camera and start: writing it again (opened, then closed) replaces it, so a
round written twice (a commit whose answer was lost, then retried) leaves the same rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Engine, Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import Executable

from vigie.domain.recording import GapReport, RecordingGap
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import RecordingGapRow, RecordingWatchRow, require_aware

WATCH_ROW = 1

_TABLE = cast(Table, RecordingGapRow.__table__)  # a declarative class's table is a Table
_WATCH = cast(Table, RecordingWatchRow.__table__)
_CHECKED = update(_WATCH).where(_WATCH.c.id == WATCH_ROW).values(checked_at=bindparam("at"))
_DELETE_ONE = delete(_TABLE).where(
    RecordingGapRow.camera_id == bindparam("camera"), RecordingGapRow.started_at == bindparam("started")
)
"""A gap by its key, run once per key (one ``executemany``): each on the primary key's index. The one statement
``(camera_id, started_at) IN (VALUES …)`` it replaces made SQLite scan the whole table at every round (its plan:
``SCAN recording_gaps``): at thousands of gap changes a second (``bench/mqtt_throughput.py``, the health events as
``vigie serve`` writes them) the round cost grew with the day's gaps, ~100 µs a gap and rising."""


def _upsert(dialect: str) -> Executable:
    """``INSERT … ON CONFLICT (camera_id, started_at) DO UPDATE`` in the dialect's words (SQLite and PostgreSQL
    both have it; SQLAlchemy builds it per dialect)."""
    columns, key = ("ended_at", "noticed_at", "seconds"), ["camera_id", "started_at"]
    if dialect == "sqlite":
        lite = sqlite_insert(_TABLE)
        return lite.on_conflict_do_update(index_elements=key, set_={c: lite.excluded[c] for c in columns})
    if dialect == "postgresql":
        pg = postgresql_insert(_TABLE)
        return pg.on_conflict_do_update(index_elements=key, set_={c: pg.excluded[c] for c in columns})
    raise ValueError(f"recording gaps are stored on SQLite or PostgreSQL, not {dialect}")


class SqlRecordingGaps:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)
        self._upsert = _upsert(engine.dialect.name)

    def begin(self, at: datetime) -> int:
        """A new run of the watch starts at ``at``: the gaps a previous run left open are closed when it last
        checked (its watch stopped there; what happened after is not known), and the check time is ``at``.
        Returns how many were closed."""
        at = require_aware(at, "at")
        doing = "close the recording gaps a previous run left open"
        with storage_errors(self._engine, doing), self._write.begin() as session:
            last = session.scalar(select(RecordingWatchRow.checked_at).where(RecordingWatchRow.id == WATCH_ROW))
            left = session.execute(
                select(RecordingGapRow.camera_id, RecordingGapRow.started_at).where(RecordingGapRow.ended_at.is_(None))
            ).all()
            for camera_id, started_at in left:
                end = max(started_at, min(last or at, at))
                session.execute(
                    update(RecordingGapRow)
                    .where(RecordingGapRow.camera_id == camera_id, RecordingGapRow.started_at == started_at)
                    .values(ended_at=end, seconds=(end - started_at).total_seconds())
                )
            _checked(session, at)
        return len(left)

    def write(
        self,
        gaps: Iterable[RecordingGap],
        withdrawn: Iterable[RecordingGap],
        checked: datetime,
        *,
        prune_before: datetime | None = None,
    ) -> None:
        """One round of the watch, in one transaction: ``gaps`` written as they are now (open or closed),
        ``withdrawn`` ones removed (late segments covered them: no footage missing), the check time, and, with
        ``prune_before``, the gaps ended before it deleted."""
        written = list(gaps)
        rows = [
            {
                "camera_id": g.camera_id,
                "started_at": require_aware(g.start, "start"),
                "ended_at": None if g.end is None else require_aware(g.end, "end"),
                "noticed_at": require_aware(g.noticed, "noticed"),
                "seconds": None if g.end is None else g.seconds(g.end),
            }
            for g in written
        ]
        keys = [(g.camera_id, require_aware(g.start, "start")) for g in withdrawn]
        with storage_errors(self._engine, "record the recording gaps"), self._write.begin() as session:
            if keys:
                session.connection().execute(_DELETE_ONE, [{"camera": c, "started": s} for c, s in keys])
            if rows:
                # Core, on the session's connection: plain rows need none of the ORM bulk insert's per-row
                # bookkeeping; one upsert a gap (a new one inserted, a known one — now closed — replaced), where a
                # delete then an insert cost two statements a gap (bench/mqtt_throughput.py's health producer)
                session.connection().execute(self._upsert, rows)
            if prune_before is not None:
                session.execute(
                    delete(RecordingGapRow).where(RecordingGapRow.ended_at < require_aware(prune_before, "before"))
                )
            _checked(session, require_aware(checked, "checked"))

    def report(self, camera_ids: Collection[str], since: datetime, listed: int) -> GapReport:
        """The open gaps of ``camera_ids``, and their gaps that ended at or after ``since`` (open ones included):
        the newest ``listed``, how many, and the seconds of the closed ones.

        The cameras a person sees are filtered here, not bound as an ``IN`` list of thousands of ids, which cost
        more than the few rows of a quiet day (``bench/gap_ledger.py``): the counts come per camera, and only the
        cameras with gaps are asked for by name."""
        since = require_aware(since, "since")
        wanted = frozenset(camera_ids)
        recent = or_(RecordingGapRow.ended_at.is_(None), RecordingGapRow.ended_at >= since)
        with storage_errors(self._engine, "read the recording gaps"), self._read.begin() as session:
            watched_at = session.scalar(select(RecordingWatchRow.checked_at).where(RecordingWatchRow.id == WATCH_ROW))
            per_camera = session.execute(
                select(
                    RecordingGapRow.camera_id,
                    func.count(),
                    func.coalesce(func.sum(RecordingGapRow.seconds), 0.0),
                    func.count(RecordingGapRow.seconds),
                )
                .where(recent)
                .group_by(RecordingGapRow.camera_id)
            ).all()
            mine = [
                (camera, n, float(seconds or 0), closed)
                for camera, n, seconds, closed in per_camera
                if camera in wanted
            ]
            if not mine:
                return GapReport(watched_at, (), (), 0, 0.0)
            alarms: Sequence[RecordingGapRow] = ()
            with_open = sorted(camera for camera, n, _, closed in mine if n > closed)
            if with_open:
                alarms = session.scalars(
                    select(RecordingGapRow)
                    .where(RecordingGapRow.ended_at.is_(None), RecordingGapRow.camera_id.in_(with_open))
                    .order_by(RecordingGapRow.started_at, RecordingGapRow.camera_id)
                ).all()
            shown = session.scalars(
                select(RecordingGapRow)
                .where(recent, RecordingGapRow.camera_id.in_(sorted(camera for camera, *_ in mine)))
                .order_by(RecordingGapRow.started_at.desc(), RecordingGapRow.camera_id)
                .limit(max(0, listed))
            ).all()
            opened, newest = tuple(_gap(r) for r in alarms), tuple(_gap(r) for r in shown)
            count, seconds = sum(n for _, n, _, _ in mine), sum(s for _, _, s, _ in mine)
            return GapReport(watched_at, opened, newest, count, seconds)


def _checked(session: Session, at: datetime) -> None:
    # one writer: update, else insert, in its transaction is enough; Core statements, as
    # each round writes it: the ORM's load and flush were 5 % of a round's CPU in bench/mqtt_throughput.py
    connection = session.connection()
    if not connection.execute(_CHECKED, {"at": at}).rowcount:
        connection.execute(insert(_WATCH).values(id=WATCH_ROW, checked_at=at))


def _gap(row: RecordingGapRow) -> RecordingGap:
    return RecordingGap(row.camera_id, row.started_at, row.ended_at, row.noticed_at)
