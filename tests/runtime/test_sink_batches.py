"""Issue 16: hundreds of cameras report to the one writer thread. Health, segment rows and statistics are written
in one transaction per kind per supervisor round, not one per message; what must not be lost (segment rows, audit
entries) is kept, in order, when the database refuses a batch half-way, and written once it takes writes again."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from tests.recording.export_samples import ListAuditSink
from tests.support.clocks import T0, FakeClock
from vigie.domain.audit import AuditAction
from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.recording import Segment, SegmentState
from vigie.domain.statistics import StatisticBucket
from vigie.events.aggregation import EventAggregator
from vigie.governance.audit import AuditChain, AuditKeyring
from vigie.governance.gate import GateTransition
from vigie.runtime.workers.database_watch import DatabaseWatch
from vigie.runtime.workers.journal import WriteJournal
from vigie.runtime.workers.recorder import RecordingHealth
from vigie.runtime.workers.sink import WorkerMessageSink
from vigie.storage import SqlAuditStore, SqlSegmentIndex, SqlStatisticsRepo, create_engine_for, migrate
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo

CAMERAS = [f"cam-{n:03d}" for n in range(200)]


def database(tmp_path: Path) -> Engine:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    return engine


class Commits:
    """Counts the transactions committed on an engine, and the statements run (an executemany counts once)."""

    def __init__(self, engine: Engine) -> None:
        self.commits = 0
        self.statements: list[str] = []
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "before_cursor_execute", self._statement)

    def _commit(self, _conn: Any) -> None:
        self.commits += 1

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement.split("(", maxsplit=1)[0].strip())

    def reset(self) -> None:
        self.commits, self.statements = 0, []


def segment(camera_id: str, n: int) -> Segment:
    start = T0 + timedelta(seconds=10 * n)
    key = f"{camera_id}/{n:05d}.ts"
    return Segment(camera_id, key, start, start + timedelta(seconds=10), 1000 + n, "ab" * 32, SegmentState.COMPLETE)


def test_two_hundred_cameras_health_is_one_transaction_per_round(tmp_path: Path) -> None:
    engine = database(tmp_path)
    status = SqlCameraStatusRepo(engine)
    sink = WorkerMessageSink(EventAggregator(SqlEventRepo(engine)), status, ListAuditSink())
    counted = Commits(engine)
    for beat in range(3):  # three beats per camera from each worker within one round: the latest wins
        for camera_id in CAMERAS:
            sink(CameraHealth(camera_id, HealthState.ONLINE, T0 + timedelta(seconds=beat), "", 5.0 + beat))
            sink(RecordingHealth(camera_id, HealthState.ONLINE, T0 + timedelta(seconds=beat)))
    sink(RecordingHealth("cam-007", HealthState.OFFLINE, T0 + timedelta(seconds=3), "camera cam-007: timeout"))
    assert counted.commits == 0, "nothing written between two rounds"

    sink.flush()

    assert counted.commits == 1, "every camera's health in one transaction"
    assert len(counted.statements) == 4, counted.statements  # begin, read current rows, one upsert, one log insert
    latest = {h.camera_id: h for h in status.latest()}
    assert sorted(latest) == CAMERAS
    assert latest["cam-000"].fps_in == 7.0, "the latest report of the round"
    assert latest["cam-007"].state is HealthState.OFFLINE
    assert [h.state for h in status.history("cam-007")] == [HealthState.OFFLINE, HealthState.ONLINE]

    counted.reset()
    sink(CameraHealth("cam-001", HealthState.ONLINE, T0 + timedelta(seconds=4), "", 9.0))
    sink.flush()
    assert counted.commits == 0, "unchanged and written less than 10 s ago: nothing to write"


def test_flushing_after_every_message_is_one_transaction_per_message(tmp_path: Path) -> None:
    engine = database(tmp_path)
    status = SqlCameraStatusRepo(engine)
    sink = WorkerMessageSink(EventAggregator(SqlEventRepo(engine)), status, ListAuditSink(), flush_at=1)
    counted = Commits(engine)
    for camera_id in CAMERAS:
        sink(CameraHealth(camera_id, HealthState.ONLINE, T0, "", 5.0))
    assert counted.commits == len(CAMERAS)
    assert len(status.latest()) == len(CAMERAS)


def test_segment_rows_and_statistics_of_a_round_are_one_transaction_each(tmp_path: Path) -> None:
    engine = database(tmp_path)
    index, statistics = SqlSegmentIndex(engine), SqlStatisticsRepo(engine)
    sink = WorkerMessageSink(
        EventAggregator(SqlEventRepo(engine)),
        SqlCameraStatusRepo(engine),
        ListAuditSink(),
        segments=index,
        statistics=statistics,
    )
    counted = Commits(engine)
    quarter = timedelta(minutes=15)
    for camera_id in CAMERAS[:20]:
        sink(segment(camera_id, 0))
        sink(StatisticBucket(camera_id, "line_count", "line_count", T0, T0 + quarter, 12.0))
    sink(segment("cam-000", 0))  # reported twice (a worker restarted): one row
    sink.flush()
    assert counted.commits == 2
    assert index.count() == 20 and len(statistics.list()) == 20


@contextmanager
def refusing_segment_rows(engine: Engine) -> Iterator[None]:
    """The database refuses the segments' insert ("database is locked") after the batch's transaction began."""

    def refuse(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO segments"):
            raise sqlite3.OperationalError("database is locked")

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", refuse)


def test_a_batch_refused_half_way_is_kept_and_written_in_order_after(tmp_path: Path) -> None:
    engine = database(tmp_path)
    clock = FakeClock(T0)
    audit = AuditChain(SqlAuditStore(engine), AuditKeyring(tmp_path / "keys"), clock=clock)
    index = SqlSegmentIndex(engine)
    journal = WriteJournal(tmp_path / "journal")
    sink = WorkerMessageSink(
        EventAggregator(SqlEventRepo(engine)),
        SqlCameraStatusRepo(engine),
        audit,
        segments=index,
        clock=clock,
        journal=journal,
        watch=DatabaseWatch(engine),
    )
    first = [segment(c, 0) for c in CAMERAS[:50]]
    later = [segment(c, 1) for c in CAMERAS[:50]]
    for s in first:
        sink(s)
    with refusing_segment_rows(engine):
        sink.flush()  # the batch's insert fails inside its transaction: nothing of it is written, all is kept
        assert index.count() == 0
        assert len(journal) == 1 + len(first), "database.unavailable, then the 50 rows"
        sink(GateTransition("motion", "cam-001", True, 7, "started", clock()))  # kept after them, never before
        for s in later:
            sink(s)
        sink(GateTransition("motion", "cam-001", False, 7, "stopped", clock()))
        sink.flush()
        assert len(journal) == 1 + len(first) + 1 + len(later) + 1

    assert sink.flush_kept(), "the database takes writes again: the journal is written"
    assert len(journal) == 0
    assert index.count() == len(first) + len(later), "no segment row lost"
    actions = [r.action for r in SqlAuditStore(engine).records()]
    assert actions == [
        AuditAction.DATABASE_UNAVAILABLE,
        AuditAction.GATE_OPENED,
        AuditAction.GATE_CLOSED,
        AuditAction.DATABASE_RECOVERED,
    ]
    recovered = SqlAuditStore(engine).last(AuditAction.DATABASE_RECOVERED)
    assert recovered is not None and recovered.details["replayed"] == 1 + len(first) + 1 + len(later) + 1


def test_motion_observations_of_a_round_become_events_in_one_transaction(tmp_path: Path) -> None:
    engine = database(tmp_path)
    events = SqlEventRepo(engine)
    sink = WorkerMessageSink(
        EventAggregator(events), SqlCameraStatusRepo(engine), ListAuditSink(), events_batch=events.batch
    )
    counted = Commits(engine)
    for camera_id in CAMERAS[:50]:
        for k in range(3):  # three observations of one movement: one event
            region = (Box(0.1 * k, 0.1, 0.2, 0.2),)
            sink(Observation(camera_id, "motion", "motion", T0 + timedelta(seconds=k), region, 0.5 + 0.1 * k))
    sink.flush()
    assert counted.commits == 1, "fifty cameras' events in one transaction"
    stored = events.list(limit=100)
    assert len(stored) == 50 and {e.camera_id for e in stored} == set(CAMERAS[:50])
    assert all(e.ended_at == T0 + timedelta(seconds=2) and e.observations == 3 for e in stored)
