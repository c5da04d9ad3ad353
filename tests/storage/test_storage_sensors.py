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
