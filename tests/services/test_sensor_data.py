"""The sensors' statistics read per Paris day across a clock change, and which cameras keep a link event (pure
functions of their inputs: no server, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.recording.export_samples import ListAuditSink
from tests.support.viewers import signed_in_viewer
from vigie.domain.recording import Hold
from vigie.domain.sensors import SensorLinkEvent, SensorStatistic
from vigie.services.events import InvalidQuery
from vigie.services.sensor_retention import kept_cameras
from vigie.services.sensor_statistics import Period, SensorRef, SensorStatisticsService

HOUR = timedelta(hours=1)


class Buckets:
    def __init__(self, stored: list[SensorStatistic]) -> None:
        self.stored = stored

    def between(self, sensor_ids: object, start: datetime, end: datetime, *, limit: int) -> list[SensorStatistic]:
        return [s for s in self.stored if start <= s.start < end][:limit]


def test_a_paris_day_across_the_autumn_clock_change_has_25_hours() -> None:
    # 2025-10-26: Paris goes from UTC+2 to UTC+1; the day runs from 22:00 UTC on the 25th to 23:00 UTC on the 26th
    midnight = datetime(2025, 10, 25, 22, 0, tzinfo=UTC)
    stored = [  # hourly buckets of 6 vehicles; the 26th (23:00 UTC on the 26th) is Monday in Paris
        SensorStatistic(
            "radar-1", "vehicles.approaching", midnight + k * HOUR, midnight + (k + 1) * HOUR, 6, 300.0, 60.0
        )
        for k in range(26)
    ]
    service = SensorStatisticsService(
        [SensorRef("radar-1", "testville", "radar")], Buckets(stored), ListAuditSink(), bucket_s=3600, min_count=5
    )
    viewer = signed_in_viewer([])
    days = service.periods_for(viewer, "radar-1", midnight - 2 * HOUR, midnight + 30 * HOUR, Period.DAY)
    assert [(d.start, d.end - d.start, d.count) for d in days] == [
        (midnight, 25 * HOUR, 150),
        (midnight + 25 * HOUR, 5 * HOUR, 6),  # Monday, cut at the range's end
    ]
    assert days[0].mean == 50.0 and days[0].maximum == 60.0


def test_an_event_keeps_the_cameras_within_their_retention_or_under_a_hold() -> None:
    at = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
    event = SensorLinkEvent("r", "radar-1", "bookmark", ("a7", "b30", "held"), "x", at, at, "done")
    retention = {"a7": timedelta(days=7), "b30": timedelta(days=30), "held": timedelta(days=7)}.__getitem__
    hold = Hold("held", at - HOUR, at + HOUR, "REQ", "PV", "lt. Durand", at)
    assert kept_cameras(event, at + timedelta(days=7), retention, [hold]) == ("a7", "b30", "held")
    assert kept_cameras(event, at + timedelta(days=8), retention, [hold]) == ("b30", "held")
    assert kept_cameras(event, at + timedelta(days=8), retention, []) == ("b30",)
    lifted = Hold("held", at - HOUR, at + HOUR, "REQ", "PV", "lt. Durand", at, lifted_at=at + timedelta(days=20))
    assert kept_cameras(event, at + timedelta(days=31), retention, [lifted]) == ()
    elsewhere = Hold("held", at + HOUR, at + 2 * HOUR, "REQ", "PV", "lt. Durand", at)  # not the event's time
    assert kept_cameras(event, at + timedelta(days=8), retention, [elsewhere]) == ("b30",)


def test_buckets_shorter_than_configured_now_are_read_and_never_cut_silently() -> None:
    at = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
    minute = timedelta(minutes=1)
    stored = [  # written when buckets were a minute long; they are 5 minutes now
        SensorStatistic("p-1", "presence", at + k * minute, at + (k + 1) * minute, 6) for k in range(30)
    ]
    sensors = [SensorRef("p-1", "testville", "presence")]
    service = SensorStatisticsService(sensors, Buckets(stored), ListAuditSink(), bucket_s=300, min_count=5)
    viewer = signed_in_viewer([])
    [hour] = service.periods_for(viewer, "p-1", at, at + HOUR, Period.HOUR)
    assert hour.count == 180
    capped = SensorStatisticsService(
        sensors, Buckets(stored), ListAuditSink(), bucket_s=300, min_count=5, max_buckets=20
    )
    with pytest.raises(InvalidQuery, match="more than 24 stored buckets"):
        capped.periods_for(viewer, "p-1", at, at + HOUR, Period.HOUR)
