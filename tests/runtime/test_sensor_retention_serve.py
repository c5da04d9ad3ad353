"""``vigie serve``'s schedule purges what the sensors left (issue 21): built from a configuration (the production
composition), the service's periodic jobs delete the link events past their camera's retention (L3: 15 days here)
and the statistics past ``sensors.statistics_retention_days``, and audit both — with the sensors turned off, since
what they left when they were on must still go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

from tests.support.clocks import FakeClock
from tests.support.configs import camera_yaml, config_yaml
from tests.support.waiting import wait_for
from vigie.config import load_config_text
from vigie.domain.audit import AuditAction
from vigie.domain.sensors import SensorLinkEvent, SensorStatistic
from vigie.runtime.assembly.service import VigieService
from vigie.storage.audit import SqlAuditStore
from vigie.storage.sensors import SqlSensorLinkEvents, SqlSensorStatistics


def test_the_service_purges_sensor_data_on_its_schedule_audited(tmp_path: Path) -> None:
    camera = camera_yaml("cam-t1", "rtsp://127.0.0.1:9/cam-t1", enabled=False)  # retention_days: 15
    text = config_yaml(tmp_path, camera) + "sensors:\n  statistics_retention_days: 30\n"
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    service = VigieService(load_config_text(text), clock=clock)
    engine = create_engine(f"sqlite:///{tmp_path / 'vigie.db'}")
    events, statistics = SqlSensorLinkEvents(engine), SqlSensorStatistics(engine)
    now = clock()

    def mark(days: int) -> SensorLinkEvent:
        at = now - timedelta(days=days)
        return events.add(SensorLinkEvent(f"r{days}", "radar-1", "bookmark", ("cam-t1",), "x", at, at, "done"))

    def bucket(days: int) -> SensorStatistic:
        end = now - timedelta(days=days)
        return SensorStatistic("radar-1", "vehicles.approaching", end - timedelta(minutes=5), end, 9, 450.0, 70.0)

    mark(16)
    kept = mark(14)
    statistics.add_many([bucket(31), bucket(29)])
    service.sink.tick()  # a round of the single writer: the periodic jobs run
    wait_for(lambda: len(events.list()) == 1 and len(statistics.list()) == 1, 10, "the sensor data purged")
    assert [e.id for e in events.list()] == [kept.id]
    assert [s.end for s in statistics.list()] == [now - timedelta(days=29)]
    audit = SqlAuditStore(engine)
    purged = wait_for(
        lambda: [r for r in audit.records() if r.action == AuditAction.DELETION and r.target.startswith("sensor_")],
        10,
        "the purges audited",
    )
    assert sorted((r.actor, r.target) for r in purged) == [
        ("system:retention", "sensor_link_events"),
        ("system:retention", "sensor_statistics"),
    ]
