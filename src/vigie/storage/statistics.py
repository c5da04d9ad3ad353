"""The ``statistics`` table (implements ``vigie.domain.statistics.StatisticsRepo``). A bucket written twice (a
worker restarted mid-bucket reports it again) keeps its first value: totals are never silently changed."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Engine, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from vigie.domain.statistics import StatisticBucket
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import StatisticRow, require_aware


class SqlStatisticsRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def add(self, bucket: StatisticBucket) -> StatisticBucket:
        row = StatisticRow(
            camera_id=bucket.camera_id,
            module=bucket.module,
            kind=bucket.kind,
            start=require_aware(bucket.start, "bucket.start"),
            end=require_aware(bucket.end, "bucket.end"),
            value=bucket.value,
        )
        with storage_errors(self._engine, f"store a bucket of {bucket.camera_id}"):
            try:
                with self._write.begin() as session:
                    session.add(row)
                    session.flush()
                    return _to_bucket(row)
            except IntegrityError:
                pass  # already stored: the first value stands
        query = select(StatisticRow).where(
            StatisticRow.camera_id == bucket.camera_id,
            StatisticRow.module == bucket.module,
            StatisticRow.start == require_aware(bucket.start, "bucket.start"),
        )
        with storage_errors(self._engine, "read a bucket"), self._read.begin() as session:
            return _to_bucket(session.scalars(query).one())

    def add_many(self, buckets: Iterable[StatisticBucket]) -> int:
        """Store many buckets in one transaction (one multi-row statement); return how many were new. A bucket
        already stored keeps its first value, as with :meth:`add`."""
        rows = [
            {
                "camera_id": b.camera_id,
                "module": b.module,
                "kind": b.kind,
                "start": require_aware(b.start, "bucket.start"),
                "end": require_aware(b.end, "bucket.end"),
                "value": b.value,
            }
            for b in buckets
        ]
        if not rows:
            return 0
        dialect = sqlite if self._engine.dialect.name == "sqlite" else postgresql
        unique = [StatisticRow.camera_id, StatisticRow.module, StatisticRow.start]
        statement = dialect.insert(StatisticRow).on_conflict_do_nothing(index_elements=unique)
        keys = {(r["camera_id"], r["module"], r["start"]) for r in rows}
        stored = select(func.count()).select_from(StatisticRow).where(tuple_(*unique).in_(builtins.list(keys)))
        with storage_errors(self._engine, f"store {len(rows)} statistic buckets"), self._write.begin() as session:
            before = int(session.scalar(stored) or 0)
            session.connection().execute(statement, rows)
        return len(keys) - before

    def list(
        self,
        *,
        camera_ids: Sequence[str] | None = None,
        module: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> builtins.list[StatisticBucket]:
        query = select(StatisticRow).order_by(StatisticRow.start, StatisticRow.camera_id, StatisticRow.id)
        if camera_ids is not None:
            query = query.where(StatisticRow.camera_id.in_(list(camera_ids)))
        if module is not None:
            query = query.where(StatisticRow.module == module)
        if since is not None:
            query = query.where(StatisticRow.start >= require_aware(since, "since"))
        with storage_errors(self._engine, "list statistics"), self._read.begin() as session:
            return [_to_bucket(row) for row in session.scalars(query.limit(max(0, min(limit, 10_000))))]


def _to_bucket(row: StatisticRow) -> StatisticBucket:
    return StatisticBucket(row.camera_id, row.module, row.kind, row.start, row.end, row.value, row.id)
