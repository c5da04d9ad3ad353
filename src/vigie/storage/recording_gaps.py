"""The ``recording_gaps`` and ``recording_watch`` tables (issue 17): the recording-gap alarms of ``vigie serve``'s
gap watch, for the health view of every API process.

One writer (``vigie serve``, on its single writer's thread) writes what changed in a round, in one transaction;
any process reads. A gap is keyed by its camera and start: writing it again (opened, then closed) replaces it, so a
round written twice (a commit whose answer was lost, then retried) leaves the same rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from vigie.domain.recording import GapReport, RecordingGap
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import RecordingGapRow, RecordingWatchRow, require_aware

WATCH_ROW = 1


class SqlRecordingGaps:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

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
        keys = [(g.camera_id, require_aware(g.start, "start")) for g in (*written, *withdrawn)]
        with storage_errors(self._engine, "record the recording gaps"), self._write.begin() as session:
            for chunk in _chunks(keys):
                session.execute(
                    delete(RecordingGapRow).where(
                        tuple_(RecordingGapRow.camera_id, RecordingGapRow.started_at).in_(chunk)
                    )
                )
            if rows:
                session.execute(insert(RecordingGapRow), rows)
            if prune_before is not None:
                session.execute(
                    delete(RecordingGapRow).where(RecordingGapRow.ended_at < require_aware(prune_before, "before"))
                )
            _checked(session, require_aware(checked, "checked"))

    def report(self, camera_ids: Collection[str], since: datetime, listed: int) -> GapReport:
        """The open gaps of ``camera_ids``, and their gaps that ended at or after ``since`` (open ones included):
        the newest ``listed``, how many, and the seconds of the closed ones."""
        since = require_aware(since, "since")
        cameras = sorted(set(camera_ids))
        with storage_errors(self._engine, "read the recording gaps"), self._read.begin() as session:
            watched_at = session.scalar(select(RecordingWatchRow.checked_at).where(RecordingWatchRow.id == WATCH_ROW))
            if not cameras:
                return GapReport(watched_at, (), (), 0, 0.0)
            mine = RecordingGapRow.camera_id.in_(cameras)
            recent = and_(mine, or_(RecordingGapRow.ended_at.is_(None), RecordingGapRow.ended_at >= since))
            alarms = session.scalars(
                select(RecordingGapRow)
                .where(mine, RecordingGapRow.ended_at.is_(None))
                .order_by(RecordingGapRow.started_at, RecordingGapRow.camera_id)
            ).all()
            shown = session.scalars(
                select(RecordingGapRow)
                .where(recent)
                .order_by(RecordingGapRow.started_at.desc(), RecordingGapRow.camera_id)
                .limit(max(0, listed))
            ).all()
            count, seconds = session.execute(
                select(func.count(), func.coalesce(func.sum(RecordingGapRow.seconds), 0.0)).where(recent)
            ).one()
            opened, newest = tuple(_gap(r) for r in alarms), tuple(_gap(r) for r in shown)
            return GapReport(watched_at, opened, newest, int(count), float(seconds or 0))


def _checked(session: Session, at: datetime) -> None:
    # one writer: read-then-write in its transaction is enough (no upsert dialects needed)
    row = session.get(RecordingWatchRow, WATCH_ROW)
    if row is None:
        session.add(RecordingWatchRow(id=WATCH_ROW, checked_at=at))
    else:
        row.checked_at = at


def _gap(row: RecordingGapRow) -> RecordingGap:
    return RecordingGap(row.camera_id, row.started_at, row.ended_at, row.noticed_at)


def _chunks(keys: list[tuple[str, datetime]], size: int = 500) -> Iterable[list[tuple[str, datetime]]]:
    """Bounded IN lists (two bound parameters a key): SQLite caps the parameters of one statement."""
    for i in range(0, len(keys), size):
        yield keys[i : i + size]
