"""A database that refuses writes, told apart from a statement that is wrong (issue 15, D9 and D10): the first
passes (the write is kept and tried again), the second does not. And a guard that stops every write of an engine
(the database file was deleted) while reads go on."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from tests.support.clocks import T0
from tests.support.db_faults import IMMUTABLE, LOCKED, immutable_possible, unwritable_database

from vigie.domain.recording import Segment
from vigie.storage import SqlSegmentIndex, StorageError, create_engine_for, migrate
from vigie.storage.database import (
    PROBE_BUSY_TIMEOUT_MS,
    DatabaseLostError,
    DatabaseUnavailableError,
    FileIdentity,
    guard_writes,
    probe_write,
    sqlite_file,
)


def _segment(n: int) -> Segment:
    start = T0 + timedelta(seconds=10 * n)
    return Segment("cam-1", f"cam-1/{n}.ts", start, start + timedelta(seconds=10), 100, "ab" * 32)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    SqlSegmentIndex(engine).add(_segment(0))
    engine.dispose()
    return tmp_path / "vigie.db"


def test_a_locked_database_is_unavailable_and_the_probe_says_so_quickly(database: Path) -> None:
    engine = create_engine_for(f"sqlite:///{database}")
    probe_write(engine)
    with unwritable_database(database, LOCKED):
        began = time.monotonic()
        with pytest.raises(DatabaseUnavailableError, match="locked"):
            probe_write(engine)
        assert time.monotonic() - began < 10 * PROBE_BUSY_TIMEOUT_MS / 1000
        assert SqlSegmentIndex(engine).by_key("cam-1/0.ts") is not None, "reads go on"
    probe_write(engine)
    SqlSegmentIndex(engine).add(_segment(1))


def test_an_immutable_database_is_unavailable_a_duplicate_key_is_not(database: Path) -> None:
    if not immutable_possible(database.parent):
        pytest.skip("files cannot be made immutable here (chattr +i needs root and a filesystem that supports it)")
    engine = create_engine_for(f"sqlite:///{database}")
    index = SqlSegmentIndex(engine)
    with unwritable_database(database, IMMUTABLE):
        with pytest.raises(DatabaseUnavailableError):
            index.add(_segment(1))
        with pytest.raises(DatabaseUnavailableError):
            probe_write(engine)
    with pytest.raises(StorageError) as duplicate:
        index.add(_segment(0))
    assert not isinstance(duplicate.value, DatabaseUnavailableError), "a wrong write is not retried forever"
    index.add(_segment(1))


def test_a_guarded_engine_refuses_writes_and_still_reads(database: Path) -> None:
    engine = create_engine_for(f"sqlite:///{database}")
    path = sqlite_file(engine)
    assert path == database.resolve()
    opened = FileIdentity.of(path)
    guard = guard_writes(engine)
    index = SqlSegmentIndex(engine)
    guard.block("the database file was deleted")
    with pytest.raises(DatabaseLostError, match="deleted"):
        index.add(_segment(1))
    assert index.by_key("cam-1/0.ts") is not None
    assert index.by_key("cam-1/1.ts") is None
    database.unlink()
    database.write_bytes(b"")
    assert FileIdentity.of(path) != opened, "a file made again is another file"
