"""The sensor tables (issue 21) on SQLite and PostgreSQL: statistics buckets keep their first value, link events
are listed in order and by exact camera id."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from tests.support.clocks import T0

from vigie.domain.sensors import SensorLinkEvent, SensorStatistic
from vigie.storage.sensors import SqlSensorLinkEvents, SqlSensorStatistics


def test_a_bucket_written_twice_keeps_its_first_value(db: Engine) -> None:
    repo = SqlSensorStatistics(db)
    end = T0 + timedelta(minutes=5)
    first = SensorStatistic("radar-1", "vehicles.approaching", T0, end, 12, 540.5, 71.0)
    assert repo.add_many([first, SensorStatistic("radar-1", "vehicles.receding", T0, end, 9, 400.0, 60.0)]) == 2
    assert repo.add_many([SensorStatistic("radar-1", "vehicles.approaching", T0, end, 99, 1.0, 1.0)]) == 0
    assert repo.list(sensor_ids=["radar-1"])[0] == first
    assert repo.list(since=end) == []


def test_link_events_are_listed_in_order_and_by_exact_camera(db: Engine) -> None:
    repo = SqlSensorLinkEvents(db)
    assert repo.newest_id() == 0
    one = repo.add(SensorLinkEvent("r1", "radar-1", "bookmark", ("cam-1", "cam-12"), "rapide", T0, T0, "done"))
    two = repo.add(SensorLinkEvent("r2", "radar-1", "show_on_wall", ("cam-12",), "", T0, T0, "done"))
    assert one.id is not None and repo.newest_id() == two.id
    assert [e.rule for e in repo.list(camera_id="cam-1")] == ["r1"]
    assert [e.rule for e in repo.list(camera_id="cam-12")] == ["r1", "r2"]
    assert [e.rule for e in repo.list(after_id=one.id)] == ["r2"]
    assert repo.list(camera_id="cam-1")[0].cameras == ("cam-1", "cam-12")


def test_statistics_are_read_over_a_range_and_purged_by_their_end(db: Engine) -> None:
    repo = SqlSensorStatistics(db)
    bucket = timedelta(minutes=5)
    repo.add_many(
        SensorStatistic(sensor, "vehicles.approaching", T0 + i * bucket, T0 + (i + 1) * bucket, 6, 300.0, 60.0)
        for i in range(4)
        for sensor in ("radar-1", "radar-2")
    )
    got = repo.between(["radar-1"], T0 + bucket, T0 + 3 * bucket, limit=100)
    assert [(s.sensor_id, s.start) for s in got] == [("radar-1", T0 + bucket), ("radar-1", T0 + 2 * bucket)]
    assert len(repo.between(["radar-1", "radar-2"], T0, T0 + 4 * bucket, limit=3)) == 3
    assert repo.purge(T0 + 2 * bucket) == 2, "the first bucket of each sensor; the second ends at that instant"
    assert repo.purge(T0 + 2 * bucket) == 0
    assert {s.start for s in repo.list()} == {T0 + bucket, T0 + 2 * bucket, T0 + 3 * bucket}


def test_link_events_are_paged_before_an_instant_then_deleted_or_narrowed(db: Engine) -> None:
    repo = SqlSensorLinkEvents(db)
    old = repo.add(SensorLinkEvent("r1", "radar-1", "bookmark", ("cam-1", "cam-2"), "x", T0, T0, "done"))
    older = repo.add(SensorLinkEvent("r2", "radar-1", "show_on_wall", ("cam-1",), "", T0, T0, "done"))
    recent = repo.add(SensorLinkEvent("r3", "radar-1", "bookmark", ("cam-1",), "x", T0 + timedelta(days=1), T0, "done"))
    assert old.id and older.id and recent.id
    assert [e.id for e in repo.carried_out_before(T0 + timedelta(hours=1), 1)] == [old.id]
    assert [e.id for e in repo.carried_out_before(T0 + timedelta(hours=1), 10, after_id=old.id)] == [older.id]
    repo.forget([older.id], {old.id: ["cam-2"]})
    assert [(e.id, e.cameras) for e in repo.list()] == [(old.id, ("cam-2",)), (recent.id, ("cam-1",))]
    assert repo.list(camera_id="cam-1", action="bookmark") == [repo.list(after_id=old.id)[0]]
