"""The sensor tables (issue 21): ``sensor_statistics`` (implements
:class:`vigie.domain.sensors.SensorStatisticsRepo`; a bucket written twice keeps its first value) and
``sensor_link_events`` (:class:`vigie.domain.sensors.SensorLinkEventRepo`)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Engine, delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import sessionmaker

from vigie.domain.sensors import SensorLinkEvent, SensorStatistic
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.repositories import rowcount
from vigie.storage.tables import SensorLinkEventRow, SensorStatisticRow, require_aware


class SqlSensorStatistics:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def add_many(self, buckets: Iterable[SensorStatistic]) -> int:
        """Store the buckets in one transaction; how many were new (one already stored keeps its first value)."""
        rows = [
            {
                "sensor_id": b.sensor_id,
                "measure": b.measure,
                "start": require_aware(b.start, "bucket.start"),
                "end": require_aware(b.end, "bucket.end"),
                "count": b.count,
                "total": b.total,
                "maximum": b.maximum,
            }
            for b in buckets
        ]
        if not rows:
            return 0
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        unique = [SensorStatisticRow.sensor_id, SensorStatisticRow.measure, SensorStatisticRow.start]
        statement = dialect.insert(SensorStatisticRow).on_conflict_do_nothing(index_elements=unique)
        keys = {(r["sensor_id"], r["measure"], r["start"]) for r in rows}
        stored = select(func.count()).select_from(SensorStatisticRow).where(tuple_(*unique).in_(builtins.list(keys)))
        with storage_errors(self._engine, f"store {len(rows)} sensor statistics"), self._write.begin() as session:
            before = int(session.scalar(stored) or 0)
            session.connection().execute(statement, rows)
        return len(keys) - before

    def list(
        self, *, sensor_ids: Sequence[str] | None = None, since: datetime | None = None, limit: int = 1000
    ) -> builtins.list[SensorStatistic]:
        query = select(SensorStatisticRow).order_by(
            SensorStatisticRow.start, SensorStatisticRow.sensor_id, SensorStatisticRow.measure
        )
        if sensor_ids is not None:
            query = query.where(SensorStatisticRow.sensor_id.in_(builtins.list(sensor_ids)))
        if since is not None:
            query = query.where(SensorStatisticRow.start >= require_aware(since, "since"))
        with storage_errors(self._engine, "list sensor statistics"), self._read.begin() as session:
            rows = session.scalars(query.limit(max(0, min(limit, 10_000))))
            return [_statistic(r) for r in rows]

    def between(
        self, sensor_ids: Sequence[str], start: datetime, end: datetime, *, limit: int
    ) -> builtins.list[SensorStatistic]:
        """The buckets of ``sensor_ids`` starting in [start, end), in time order, at most ``limit``."""
        query = (
            select(SensorStatisticRow)
            .where(SensorStatisticRow.sensor_id.in_(builtins.list(sensor_ids)))
            .where(SensorStatisticRow.start >= require_aware(start, "start"))
            .where(SensorStatisticRow.start < require_aware(end, "end"))
            .order_by(SensorStatisticRow.start, SensorStatisticRow.sensor_id, SensorStatisticRow.measure)
            .limit(max(0, limit))
        )
        with storage_errors(self._engine, "read sensor statistics"), self._read.begin() as session:
            return [_statistic(r) for r in session.scalars(query)]

    def purge(self, end_before: datetime) -> int:
        """Delete the buckets that ended before ``end_before``; how many."""
        statement = delete(SensorStatisticRow).where(SensorStatisticRow.end < require_aware(end_before, "end_before"))
        with storage_errors(self._engine, "purge sensor statistics"), self._write.begin() as session:
            return rowcount(session.execute(statement))


class SqlSensorLinkEvents:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def add(self, event: SensorLinkEvent) -> SensorLinkEvent:
        row = SensorLinkEventRow(
            rule=event.rule,
            sensor_id=event.sensor_id,
            action=event.action,
            cameras=" ".join(event.cameras),
            label=event.label[:200],
            at=require_aware(event.at, "event.at"),
            observed_at=require_aware(event.observed_at, "event.observed_at"),
            outcome=event.outcome[:500],
        )
        with storage_errors(self._engine, f"record link {event.rule}"), self._write.begin() as session:
            session.add(row)
            session.flush()
            return _event(row)

    def newest_id(self) -> int:
        with storage_errors(self._engine, "read the latest sensor link event"), self._read.begin() as session:
            return int(session.scalar(select(func.max(SensorLinkEventRow.id))) or 0)

    def list(
        self,
        *,
        camera_id: str | None = None,
        after_id: int = 0,
        action: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
    ) -> builtins.list[SensorLinkEvent]:
        """Link events after ``after_id`` in order; with ``camera_id``, those acting on that camera; with ``start``
        and ``end``, those carried out in [start, end)."""
        query = select(SensorLinkEventRow).where(SensorLinkEventRow.id > after_id).order_by(SensorLinkEventRow.id)
        if start is not None:
            query = query.where(SensorLinkEventRow.at >= require_aware(start, "start"))
        if end is not None:
            query = query.where(SensorLinkEventRow.at < require_aware(end, "end"))
        if action is not None:
            query = query.where(SensorLinkEventRow.action == action)
        if camera_id is not None:
            # ids are slugs (no space): a space-delimited match is exact
            query = query.where((" " + SensorLinkEventRow.cameras + " ").contains(f" {camera_id} "))
        with storage_errors(self._engine, "list sensor link events"), self._read.begin() as session:
            return [_event(row) for row in session.scalars(query.limit(max(1, min(limit, 10_000))))]

    def carried_out_before(self, before: datetime, limit: int, *, after_id: int = 0) -> builtins.list[SensorLinkEvent]:
        """Link events carried out before ``before`` with an id above ``after_id``, in id order (the retention's
        pages)."""
        query = (
            select(SensorLinkEventRow)
            .where(SensorLinkEventRow.at < require_aware(before, "before"), SensorLinkEventRow.id > after_id)
            .order_by(SensorLinkEventRow.id)
            .limit(max(1, limit))
        )
        with storage_errors(self._engine, "list expired sensor link events"), self._read.begin() as session:
            return [_event(row) for row in session.scalars(query)]

    def forget(self, deleted: Sequence[int], narrowed: Mapping[int, Sequence[str]]) -> None:
        """In one transaction: delete the events ``deleted``, and keep only the given cameras of those
        ``narrowed`` (id → the cameras left, never empty)."""
        with storage_errors(self._engine, "forget sensor link events"), self._write.begin() as session:
            if deleted:
                session.execute(delete(SensorLinkEventRow).where(SensorLinkEventRow.id.in_(builtins.list(deleted))))
            if any(not cameras for cameras in narrowed.values()):
                raise ValueError("a narrowed link event keeps at least one camera")
            if narrowed:  # an UPDATE by primary key, executed as one batch
                rows = [{"id": event_id, "cameras": " ".join(cameras)} for event_id, cameras in narrowed.items()]
                session.execute(update(SensorLinkEventRow), rows)


def _statistic(r: SensorStatisticRow) -> SensorStatistic:
    return SensorStatistic(r.sensor_id, r.measure, r.start, r.end, r.count, r.total, r.maximum)


def _event(row: SensorLinkEventRow) -> SensorLinkEvent:
    return SensorLinkEvent(
        row.rule,
        row.sensor_id,
        row.action,
        tuple(row.cameras.split()),
        row.label,
        row.at,
        row.observed_at,
        row.outcome,
        row.id,
    )
