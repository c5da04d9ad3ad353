"""The writer thread's side of issue 15, D9, on a real SQLite database and real segment files: while the database
refuses writes (locked by another connection, the portable fault), segments and audit entries reported by workers
are kept; once it is back they are written in order, and a segment file whose message never came is indexed from
disk (reconciliation at recovery, not only at restart)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.recording.export_samples import record
from tests.support.clocks import T0, FakeClock
from tests.support.db_faults import LOCKED, unwritable_database
from tests.support.waiting import wait_for
from vigie.domain.audit import AuditAction
from vigie.events.aggregation import EventAggregator
from vigie.governance.audit import AuditChain, AuditKeyring
from vigie.governance.gate import GateTransition
from vigie.recording.reconcile import index_recent
from vigie.runtime.workers.database_watch import DatabaseWatch
from vigie.runtime.workers.journal import WriteJournal
from vigie.runtime.workers.sink import WorkerMessageSink
from vigie.storage import SqlAuditStore, SqlSegmentIndex, create_engine_for, migrate
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo


def test_the_sink_keeps_what_workers_report_during_an_outage_and_indexes_what_never_came(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    clock = FakeClock(T0)
    audit = AuditChain(SqlAuditStore(engine), AuditKeyring(tmp_path / "keys"), clock=clock)
    index = SqlSegmentIndex(engine)
    root = tmp_path / "segments"
    segments = record(root, "cam-1", [(T0, 8)])  # four 2-second segments
    watch = DatabaseWatch(engine)
    sink = WorkerMessageSink(
        EventAggregator(SqlEventRepo(engine)),
        SqlCameraStatusRepo(engine),
        audit,
        segments=index,
        clock=clock,
        journal=WriteJournal(tmp_path / "journal"),
        watch=watch,
        reconcile=lambda since: {"cam-1": len(index_recent(root, "cam-1", index, since, clock()))},
    )
    assert sink.writer is not None
    sink(segments[0])
    sink.tick()  # the supervisor's round: the buffered row is written
    assert index.by_key(segments[0].key) is not None
    with unwritable_database(tmp_path / "vigie.db", LOCKED):
        clock.advance(seconds=2)
        sink(segments[1])  # waits for the lock (busy timeout), then kept
        sink(GateTransition("motion", "cam-1", True, 7, "started", clock()))
        sink(segments[3])  # segments[2]'s message is lost: its file is on disk
        sink.tick()
        assert len(sink.writer.journal) == 4, "database.unavailable, two segments and the gate's opening"
        assert index.by_key(segments[1].key) is None
    clock.advance(seconds=10)
    wait_for(lambda: (sink.tick(), sink.writer.writable())[1], 10, "the journal written once the database is back")

    assert [index.by_key(s.key) is not None for s in segments] == [True, True, True, True]
    actions = [r.action for r in SqlAuditStore(engine).records()]
    assert actions == [AuditAction.DATABASE_UNAVAILABLE, AuditAction.GATE_OPENED, AuditAction.DATABASE_RECOVERED]
    recovered = SqlAuditStore(engine).last(AuditAction.DATABASE_RECOVERED)
    assert recovered is not None and recovered.details["replayed"] == 4
    assert recovered.details["reconciled"] == {"cam-1": 1}, "the segment whose message never came, from disk"
    assert recovered.at == T0 + timedelta(seconds=12)
