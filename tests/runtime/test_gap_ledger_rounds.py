"""The monitor writes the recording-gap alarms to the database for every process's health view (issue 17), on the
single writer's thread: once per round and only what changed (the check time every 5 s when nothing did); a
database that refuses costs the writer no exception and the alarm no loss — it is written at a later round."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.clocks import T0
from vigie.domain.recording import RecordingGap, Segment
from vigie.recording.gaps import GapWatch
from vigie.runtime.workers.monitor import RETRY_AFTER, ServiceMonitor
from vigie.storage import create_engine_for, migrate
from vigie.storage.errors import StorageError
from vigie.storage.recording_gaps import SqlRecordingGaps

SEGMENT_S = 10.0


class CountedLedger(SqlRecordingGaps):
    """The real ledger, its writes counted, refusing while ``refusing`` (a database that will not take writes)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.writes = 0
        self.refusing = False

    def write(
        self,
        gaps: Iterable[RecordingGap],
        withdrawn: Iterable[RecordingGap],
        checked: datetime,
        *,
        prune_before: datetime | None = None,
    ) -> None:
        self.writes += 1
        if self.refusing:
            raise StorageError("cannot record the recording gaps (sqlite:///…): database is locked")
        super().write(gaps, withdrawn, checked, prune_before=prune_before)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def segment(camera_id: str, start: datetime) -> Segment:
    return Segment(
        camera_id, f"{camera_id}/{start.timestamp():.0f}.ts", start, start + timedelta(seconds=SEGMENT_S), 1, "0" * 64
    )


def alarms(ledger: SqlRecordingGaps, cameras: list[str]) -> list[str]:
    return [g.camera_id for g in ledger.report(cameras, T0, 10).alarms]


def test_quiet_rounds_write_only_the_check_time_every_five_seconds_and_a_round_its_changes_at_once(
    engine: Engine,
) -> None:
    cameras = [f"cam-{n}" for n in range(50)]
    now = [T0]
    ledger = CountedLedger(engine)
    monitor = ServiceMonitor(cameras, GapWatch(SEGMENT_S), clock=lambda: now[0], ledger=ledger)
    for second in range(5):  # quiet rounds: the first says the watch began
        now[0] = T0 + timedelta(seconds=second)
        for camera in cameras:
            monitor.observe(segment(camera, now[0] - timedelta(seconds=SEGMENT_S)))
        monitor.tick(now[0])
    assert ledger.writes == 1 and ledger.report(cameras, T0, 1).watched_at == T0
    now[0] = T0 + timedelta(seconds=5)
    monitor.tick(now[0])
    assert ledger.writes == 2 and ledger.report(cameras, T0, 1).watched_at == now[0]

    now[0] = T0 + timedelta(seconds=30)  # a site's network down: every camera silent
    monitor.tick(now[0])
    assert ledger.writes == 3, "fifty alarms, one write"
    assert sorted(alarms(ledger, cameras)) == sorted(cameras)


def test_a_refused_write_never_reaches_the_writer_and_the_alarm_is_written_at_a_later_round(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    now = [T0]
    ledger = CountedLedger(engine)
    monitor = ServiceMonitor(["cam-1"], GapWatch(SEGMENT_S), clock=lambda: now[0], ledger=ledger)
    monitor.tick(T0)
    ledger.refusing = True
    caplog.set_level(logging.WARNING)
    now[0] = T0 + timedelta(seconds=2 * SEGMENT_S + 1)
    monitor.tick(now[0])  # the alarm raised; its write refused: no exception here
    assert "recording gap alarms not written to the database" in caplog.text
    assert [g.camera_id for g in monitor.open_gaps()] == ["cam-1"], "the watch itself goes on"
    ledger.refusing = False
    tries = ledger.writes
    now[0] += RETRY_AFTER / 2
    monitor.tick(now[0])
    assert ledger.writes == tries, "not tried again before RETRY_AFTER"
    now[0] += RETRY_AFTER / 2
    monitor.tick(now[0])
    assert alarms(ledger, ["cam-1"]) == ["cam-1"], "the change kept, written once the database takes it"


def test_nothing_is_tried_while_the_writer_sees_the_database_refuse(engine: Engine) -> None:
    writable = [False]
    ledger = CountedLedger(engine)
    monitor = ServiceMonitor(
        ["cam-1"], GapWatch(SEGMENT_S), clock=lambda: T0, ledger=ledger, writable=lambda: writable[0]
    )
    monitor.tick(T0)
    monitor.tick(T0 + timedelta(seconds=2 * SEGMENT_S + 1))
    assert ledger.writes == 0 and ledger.report(["cam-1"], T0, 1).watched_at is None
    writable[0] = True
    monitor.tick(T0 + timedelta(seconds=2 * SEGMENT_S + 2))
    assert alarms(ledger, ["cam-1"]) == ["cam-1"]
