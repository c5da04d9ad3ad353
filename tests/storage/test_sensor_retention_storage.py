"""The retention of what the sensors left (issue 21) over the real tables, on SQLite and PostgreSQL, at instants an
injected clock gives: link events go with their cameras' recordings (L3) unless a hold keeps them (L4), statistics
after their own period; each run that deletes is audited and its counts returned."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from tests.recording.export_samples import ListAuditSink
from tests.support.clocks import T0, FakeClock

from vigie.domain.audit import AuditAction
from vigie.domain.recording import Hold
from vigie.domain.sensors import SensorLinkEvent, SensorStatistic
from vigie.services.sensor_retention import RETENTION_ACTOR, SensorDataRetention
from vigie.storage import SqlHoldRepo
from vigie.storage.sensors import SqlSensorLinkEvents, SqlSensorStatistics

RETENTION = {"cam-short": timedelta(days=7), "cam-long": timedelta(days=30)}


def retention(
    events: SqlSensorLinkEvents, statistics: SqlSensorStatistics, holds: SqlHoldRepo, audit: ListAuditSink
) -> SensorDataRetention:
    return SensorDataRetention(
        events,
        statistics,
        retention_for_camera=lambda camera: RETENTION.get(camera, timedelta(days=30)),
        shortest_retention=timedelta(days=7),
        holds=holds,
        statistics_retention=timedelta(days=365),
        audit=audit,
        batch=2,  # several pages
    )


def test_link_events_follow_their_cameras_retention_and_holds(db: Engine) -> None:
    events, statistics, holds, audit = (
        SqlSensorLinkEvents(db),
        SqlSensorStatistics(db),
        SqlHoldRepo(db),
        ListAuditSink(),
    )
    clock = FakeClock(T0)
    both = events.add(SensorLinkEvent("r1", "radar-1", "bookmark", ("cam-short", "cam-long"), "x", T0, T0, "done"))
    short = events.add(SensorLinkEvent("r2", "radar-1", "show_on_wall", ("cam-short",), "", T0, T0, "done"))
    held = events.add(SensorLinkEvent("r3", "radar-1", "bookmark", ("cam-held",), "x", T0, T0, "done"))
    later = events.add(
        SensorLinkEvent("r4", "radar-1", "goto_preset", ("cam-short",), "", T0 + timedelta(days=2), T0, "done")
    )
    hold = holds.place(
        Hold("cam-held", T0 - timedelta(hours=1), T0 + timedelta(hours=1), "REQ-1", "PV 2025/1", "lt. Durand", T0)
    )
    job = retention(events, statistics, holds, audit)

    clock.advance(days=7)  # exactly the short retention: nothing is past it yet
    assert job.run(clock()).link_events_deleted == 0 and audit.events == []
    clock.advance(hours=1)
    report = job.run(clock())
    assert (report.link_events_deleted, report.link_events_narrowed) == (1, 1)
    left = {e.id: e.cameras for e in events.list()}
    assert left == {both.id: ("cam-long",), held.id: ("cam-held",), later.id: ("cam-short",)}, "short one gone"
    assert short.id not in left
    [entry] = audit.events
    assert entry.actor == RETENTION_ACTOR and entry.action is AuditAction.DELETION
    assert entry.target == "sensor_link_events" and entry.details["deleted"] == 1 and entry.details["narrowed"] == 1

    clock.advance(days=23)  # 30 days and an hour: past every retention; the hold keeps its camera's bookmark
    report = job.run(clock())
    assert report.held_kept == 1 and {e.id for e in events.list()} == {held.id}
    holds.lift(hold.id or 0, clock(), "dpo", "procedure closed")
    clock.advance(minutes=1)
    assert job.run(clock()).link_events_deleted == 1 and events.list() == []
    assert [e.details["deleted"] for e in audit.events] == [1, 2, 1]


def test_statistics_go_after_their_own_retention_audited(db: Engine) -> None:
    events, statistics, holds, audit = (
        SqlSensorLinkEvents(db),
        SqlSensorStatistics(db),
        SqlHoldRepo(db),
        ListAuditSink(),
    )
    bucket = timedelta(minutes=5)
    statistics.add_many(
        [
            SensorStatistic("radar-1", "vehicles.approaching", T0, T0 + bucket, 8, 400.0, 62.0),
            SensorStatistic("radar-1", "vehicles.approaching", T0 + bucket, T0 + 2 * bucket, 2, None, None),
        ]
    )
    job = retention(events, statistics, holds, audit)
    assert job.run(T0 + timedelta(days=365) + bucket).statistics_deleted == 0, "the first ends exactly at the limit"
    assert job.run(T0 + timedelta(days=365) + bucket * 1.5).statistics_deleted == 1
    [entry] = audit.events
    assert entry.target == "sensor_statistics" and entry.details["buckets"] == 1
    assert entry.details["retention_days"] == 365
    assert [s.start for s in statistics.list()] == [T0 + bucket]
