"""The journal of writes that must not be lost (issue 15, D9): kept on disk while the database refuses them,
written in their order when it takes them, across a restart, and a write refused for good set aside, never dropped
and never blocking the others."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from tests.support.clocks import T0, FakeClock, Ticks
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.recording import Segment, SegmentState
from vigie.domain.statistics import StatisticBucket
from vigie.runtime.workers.journal import REJECTED_FILE, DurableWriter, Outage, Write, WriteJournal, decode, encode
from vigie.storage.database import DatabaseUnavailableError


class Database:
    """Stands for the database: takes writes unless ``down``; refuses some items for good."""

    def __init__(self) -> None:
        self.down = False
        self.written: list[Write] = []
        self.poison: set[str] = set()

    def write(self, item: Write) -> None:
        if self.down:
            raise DatabaseUnavailableError("cannot append to the audit log: attempt to write a readonly database")
        if isinstance(item, AuditEvent) and item.target in self.poison:
            raise ValueError("refused for good")
        self.written.append(item)

    def probe(self) -> None:
        if self.down:
            raise DatabaseUnavailableError("cannot write to the database: disk I/O error")


def _event(n: int) -> AuditEvent:
    return AuditEvent("system:gate", AuditAction.GATE_OPENED, f"motion@cam-{n}", {"n": n}, T0 + timedelta(seconds=n))


def _segment(n: int) -> Segment:
    start = T0 + timedelta(seconds=10 * n)
    return Segment("cam-1", f"cam-1/{n}.ts", start, start + timedelta(seconds=10), 1000 + n, "ab" * 32)


def _writer(folder: Path, database: Database, ticks: Ticks) -> DurableWriter:
    return DurableWriter(WriteJournal(folder), database.write, probe=database.probe, clock=FakeClock(), monotonic=ticks)


def test_every_kind_of_write_survives_the_journal_unchanged() -> None:
    items: list[Write] = [
        _segment(1),
        _event(2),
        Observation("cam-1", "fire_start", "fire", T0, (Box(0.1, 0.2, 0.3, 0.4),), 0.9, "m-1"),
        StatisticBucket("cam-1", "line_counting", "crossings", T0, T0 + timedelta(minutes=5), None),
        Segment("cam-1", "cam-1/q.ts", T0, T0, 5, "cd" * 32, SegmentState.QUARANTINED),
    ]
    assert [decode(json.loads(json.dumps(encode(i)))) for i in items] == items


def test_writes_refused_by_the_database_are_written_in_order_when_it_is_back(tmp_path: Path) -> None:
    database, ticks = Database(), Ticks()
    writer = _writer(tmp_path, database, ticks)
    recovered: list[tuple[Outage, int]] = []
    writer.on_recovered = lambda outage, n: recovered.append((outage, n))
    writer.on_unavailable = lambda outage: AuditEvent("system:storage", AuditAction.DATABASE_UNAVAILABLE, "database")
    writer.submit(_event(1))
    database.down = True
    for n in range(2, 6):
        writer.submit(_segment(n) if n % 2 else _event(n))
    assert writer.outage is not None and len(writer.journal) == 5, "the unavailable entry, then the four writes"
    database.down = False
    writer.submit(_event(6))  # the database takes it, but older writes wait: it waits behind them
    assert database.written == [_event(1)]
    assert writer.retry() == 0, "not before the retry period"
    ticks.advance(2.5)
    assert writer.retry() == 6
    assert [getattr(i, "action", "segment") for i in database.written[:2]] == [
        AuditAction.GATE_OPENED,
        AuditAction.DATABASE_UNAVAILABLE,
    ]
    assert database.written[2:] == [_event(2), _segment(3), _event(4), _segment(5), _event(6)]
    assert writer.writable() and len(recovered) == 1 and recovered[0][1] == 6
    assert not writer.journal.path.exists(), "an empty journal leaves no file"


def test_the_journal_outlives_the_process_and_goes_on_where_it_stopped(tmp_path: Path) -> None:
    database, ticks = Database(), Ticks()
    database.down = True
    first = _writer(tmp_path, database, ticks)
    for n in range(1, 5):
        first.submit(_event(n))
    database.down = False
    first.journal.written()  # one was written before the process died
    restarted = _writer(tmp_path, database, ticks)
    assert len(restarted.journal) == 3
    assert restarted.replay_all() == 3
    assert database.written == [_event(2), _event(3), _event(4)]


def test_a_write_refused_for_good_is_set_aside_and_does_not_block_the_others(tmp_path: Path) -> None:
    database, ticks = Database(), Ticks()
    database.down = True
    writer = _writer(tmp_path, database, ticks)
    for n in range(1, 4):
        writer.submit(_event(n))
    database.down, database.poison = False, {"motion@cam-2"}
    ticks.advance(5)
    assert writer.retry() == 2
    assert database.written == [_event(1), _event(3)]
    (rejected,) = (tmp_path / REJECTED_FILE).read_text().splitlines()
    assert "refused for good" in rejected and "motion@cam-2" in rejected


class BatchDatabase(Database):
    """Also takes runs of one kind in one transaction (all or none), and notes each run's size."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[int] = []

    def write_many(self, items: Sequence[Write]) -> None:
        if self.down:
            raise DatabaseUnavailableError("cannot index segments: database is locked")
        if any(isinstance(i, Segment) and i.key in self.poison for i in items):
            raise ValueError("refused for good")
        self.runs.append(len(items))
        self.written.extend(items)

    def write(self, item: Write) -> None:
        if isinstance(item, Segment) and item.key in self.poison:
            raise ValueError("refused for good")
        super().write(item)


def test_a_replay_writes_runs_of_segments_in_one_go_and_keeps_the_order(tmp_path: Path) -> None:
    database, ticks = BatchDatabase(), Ticks()
    writer = DurableWriter(
        WriteJournal(tmp_path),
        database.write,
        probe=database.probe,
        clock=FakeClock(),
        monotonic=ticks,
        write_many=database.write_many,
    )
    database.down = True
    kept: list[Write] = [*map(_segment, range(100)), _event(100), *map(_segment, range(101, 151))]
    writer.submit_many(kept[:100], database.write_many)  # a round's batch refused: kept whole
    writer.submit(kept[100])
    writer.submit_many(kept[101:], database.write_many)
    assert len(writer.journal) == 151
    database.down, database.poison = False, {"cam-1/120.ts"}
    ticks.advance(5)

    assert writer.retry() == 150
    assert database.runs == [100], "a run of segments in one go; the run with a bad row one by one"
    assert database.written == [item for item in kept if getattr(item, "key", "") != "cam-1/120.ts"]
    assert "cam-1/120.ts" in (tmp_path / REJECTED_FILE).read_text()
    assert len(writer.journal) == 0
