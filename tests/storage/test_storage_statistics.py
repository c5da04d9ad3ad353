"""Statistics buckets (L33) on SQLite and PostgreSQL: totals or nothing, first value kept, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from vigie.domain.statistics import StatisticBucket
from vigie.storage import SqlStatisticsRepo

T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)
Q = timedelta(minutes=15)


def test_buckets_round_trip_withheld_ones_stay_empty_and_a_repeat_keeps_the_first(db: Engine) -> None:
    repo = SqlStatisticsRepo(db)
    first = repo.add(StatisticBucket("quai-1", "line_count", "line_count", T0, T0 + Q, 42.0))
    repo.add(StatisticBucket("quai-1", "line_count", "line_count", T0 + Q, T0 + 2 * Q, None))
    again = repo.add(StatisticBucket("quai-1", "line_count", "line_count", T0, T0 + Q, 7.0))
    repo.add(StatisticBucket("quai-2", "occupancy", "occupancy", T0, T0 + Q, 3.5))
    assert again == first and first.value == 42.0
    assert [(b.start, b.value) for b in repo.list(camera_ids=["quai-1"])] == [(T0, 42.0), (T0 + Q, None)]
    assert [b.camera_id for b in repo.list(module="occupancy")] == ["quai-2"]
    assert len(repo.list(since=T0 + Q)) == 1
