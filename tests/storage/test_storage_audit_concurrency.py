"""Concurrent writers never fork the audit chain: threads with their own engines, and separate processes."""

from __future__ import annotations

import itertools
import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import Engine
from tests.support.clocks import T0

from vigie.domain.audit import GENESIS_HASH, AuditAction, AuditEvent
from vigie.storage import SqlAuditStore, create_engine_for, migrate

THREADS = 4
PER_THREAD = 50
PROCESSES = 3
PER_PROCESS = 40


def assert_contiguous_chain(engine: Engine, expected: int) -> None:
    records = list(SqlAuditStore(engine).records())
    assert [r.seq for r in records] == list(range(1, expected + 1))
    assert records[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
    assert all(r.is_consistent() for r in records)


def append_many(url: str, worker: int, count: int, start: threading.Barrier | None = None) -> None:
    engine = create_engine_for(url)
    try:
        store = SqlAuditStore(engine)
        if start is not None:
            start.wait()
        for i in range(count):
            store.append(AuditEvent(f"worker:{worker}", AuditAction.LIVE_VIEWED, f"camera:{i}", {"i": i}), now=T0)
    finally:
        engine.dispose()


def test_threads_with_their_own_engines_never_fork_the_chain(db: Engine, db_url: str) -> None:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            append_many(db_url, n, PER_THREAD, start)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert_contiguous_chain(db, THREADS * PER_THREAD)


def test_separate_processes_never_fork_the_chain_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/audit.db"
    engine = create_engine_for(url)
    try:
        migrate(engine)
        context = multiprocessing.get_context("spawn")
        processes = [context.Process(target=append_many, args=(url, n, PER_PROCESS)) for n in range(PROCESSES)]
        for p in processes:
            p.start()
        for p in processes:
            p.join(timeout=120)
        assert [p.exitcode for p in processes] == [0] * PROCESSES
        assert_contiguous_chain(engine, PROCESSES * PER_PROCESS)
    finally:
        engine.dispose()


def test_an_append_waits_out_a_sqlite_lock_held_past_the_busy_timeout(tmp_path: Path) -> None:
    """Another writer holds SQLite's write lock for longer than the busy timeout (5 s; a loaded host): the append
    waits again instead of failing the act it traces, and chains once the lock is released."""
    url = f"sqlite:///{tmp_path}/audit.db"
    engine = create_engine_for(url)
    try:
        migrate(engine)
        store = SqlAuditStore(engine)
        store.append(AuditEvent("first", AuditAction.LIVE_VIEWED, "camera:0", {}), now=T0)
        holder = sqlite3.connect(f"{tmp_path}/audit.db", isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held for 6 s
        released = threading.Timer(6.0, holder.rollback)
        released.start()
        try:
            started = time.monotonic()
            record = store.append(AuditEvent("second", AuditAction.LIVE_VIEWED, "camera:1", {}), now=T0)
            waited = time.monotonic() - started
        finally:
            released.join()
            holder.close()
        assert record.seq == 2 and waited >= 5.5, waited
        assert_contiguous_chain(engine, 2)
    finally:
        engine.dispose()
