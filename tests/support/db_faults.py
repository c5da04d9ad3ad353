"""A SQLite database that refuses writes for a while, the way the issue found it (issue 15, D9).

The faithful fault is an immutable file (``chattr +i`` on the database and its write-ahead log, as root on a
filesystem that supports it): every write fails at once ("disk I/O error", "attempt to write a readonly
database") while reads go on. The shared-memory index (``-shm``) is left alone: SQLite maps it, and a write to an
immutable mapping kills the process (SIGBUS) — not what an administrator's ``chattr`` does to a service.

Where that cannot be done (not root, no ``chattr``), the fault is another connection holding the write lock: writes
wait for the busy timeout, then fail ("database is locked"), reads go on.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

IMMUTABLE = "immutable"
LOCKED = "locked"


def _chattr(flag: str, *paths: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, check=False)
    return done.returncode == 0


def immutable_possible(folder: Path) -> bool:
    """Whether files in ``folder`` can be made immutable here."""
    probe = folder / ".chattr-probe"
    probe.write_bytes(b"")
    try:
        if not _chattr("+i", probe):
            return False
        _chattr("-i", probe)
        return True
    finally:
        probe.unlink(missing_ok=True)


@contextmanager
def unwritable_database(database: Path, mode: str | None = None) -> Iterator[str]:
    """The SQLite database at ``database`` refuses writes inside the block; yields the mode used (``immutable``
    when possible, else ``locked``, or the ``mode`` asked)."""
    chosen = mode or (IMMUTABLE if immutable_possible(database.parent) else LOCKED)
    if chosen == IMMUTABLE:
        files = [p for p in (database, database.with_name(database.name + "-wal")) if p.exists()]
        if not _chattr("+i", *files):
            raise RuntimeError(f"cannot make {files} immutable")
        try:
            yield chosen
        finally:
            _chattr("-i", *files)
        return
    holder = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held until the block ends
        yield chosen
        holder.execute("ROLLBACK")
    finally:
        holder.close()
