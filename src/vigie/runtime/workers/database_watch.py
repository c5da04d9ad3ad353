"""Watching the database the service opened, while it runs (issue 15, D9 and D10).

- **Lost**: a SQLite file deleted (or replaced) under a running service goes unnoticed by SQLite — the open handles
  keep writing into a file nobody can open again, and everything written after is gone at the next start. The watch
  compares the file's identity (device, inode) with the one opened, every few seconds; once it differs, every write
  transaction of the engine is refused (:class:`~vigie.storage.database.WriteGuard`) and what must not be lost goes
  to the journal, replayed into whatever database the next start opens.
- **Unwritable**: a database that refuses writes while nothing writes (no camera, a quiet night) would still look
  fine; a small write probe every ``PROBE_EVERY_S`` finds it.
- **Readiness** reads what the watch and the writer found (:meth:`DatabaseWatch.check`).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from sqlalchemy import Engine

from vigie.services.health import Check
from vigie.storage.database import (
    DatabaseUnavailableError,
    FileIdentity,
    WriteGuard,
    guard_writes,
    ping,
    probe_write,
    sqlite_file,
)
from vigie.storage.errors import StorageError

log = logging.getLogger(__name__)

IDENTITY_EVERY_S: Final = 2.0
"""How often the database file's identity is compared with the one opened (a ``stat``: cheap)."""
PROBE_EVERY_S: Final = 10.0
"""How often the database is written to (a no-op update) while no other write says whether it can be."""


class DatabaseWatch:
    """The database's file identity, a write guard on its engine, and probes (see the module docstring)."""

    def __init__(self, engine: Engine, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.path: Path | None = sqlite_file(engine)
        self.opened: FileIdentity | None = FileIdentity.of(self.path) if self.path is not None else None
        self.guard: WriteGuard = guard_writes(engine)
        self._monotonic = monotonic
        self._next_identity = float("-inf")
        self._next_probe = monotonic() + PROBE_EVERY_S

    @property
    def lost(self) -> str | None:
        """Why the database is considered lost, or None."""
        return self.guard.reason

    def identity_changed(self) -> str | None:
        """If due, compare the file's identity with the one opened; the first time it differs, stop every write
        and return why (later calls return None: it is said once)."""
        if self.path is None or self.opened is None or self.lost is not None:
            return None
        now = self._monotonic()
        if now < self._next_identity:
            return None
        self._next_identity = now + IDENTITY_EVERY_S
        found = FileIdentity.of(self.path)
        if found == self.opened:
            return None
        what = "deleted" if found is None else f"replaced (now {found})"
        reason = f"the database file {self.path} ({self.opened}) was {what} while the service ran"
        self.guard.block(reason)
        log.critical(
            "%s: nothing more is written to it. Writes that must not be lost are kept in the journal. Stop the "
            "service, put the database back (restore it from a backup), and start again; to start on a new, empty "
            "database instead, run `vigie serve --new-database` (recorded in the new audit chain)",
            reason,
        )
        return reason

    def probe_due(self) -> bool:
        now = self._monotonic()
        if now < self._next_probe:
            return False
        self._next_probe = now + PROBE_EVERY_S
        return True

    def probe(self) -> None:
        """A small write, committed; :class:`DatabaseUnavailableError` when the database does not take it."""
        if self.lost is not None:
            raise DatabaseUnavailableError(self.lost)
        probe_write(self.engine)

    def readable(self) -> str | None:
        """None when a read answers, else why not."""
        try:
            ping(self.engine)
        except StorageError as err:
            return str(err)
        return None


def database_check(watch: DatabaseWatch, refused: Callable[[], str | None], waiting: Callable[[], int]) -> Check:
    """Readiness of the database: not lost, readable, and taking writes (``refused()``: why writes are refused
    now, as the writer last saw it; ``waiting()``: writes kept in the journal)."""
    if watch.lost is not None:
        return Check("database", False, f"lost: {watch.lost}; restart once it is restored")
    problem = refused()
    kept = waiting()
    if problem is not None:
        return Check("database", False, f"not writable: {problem}; {kept} write(s) kept in the journal meanwhile")
    if kept:
        return Check("database", False, f"writable again; {kept} kept write(s) still being written")
    unreadable = watch.readable()
    if unreadable is not None:
        return Check("database", False, f"not readable: {unreadable}")
    return Check("database", True, "readable and writable")


def storage_check(segments_root: Path, data_dir: Path, min_free_bytes: int, waiting_upload: int) -> Check:
    """Readiness of the storage: the recordings' folder and the data folder (journal, heads) take a file, the
    recordings' disk has more than ``storage.min_free_mb`` free, no segment waits for a remote store."""
    problems = []
    for what, folder in (("recordings", segments_root), ("data", data_dir)):
        problem = _folder_problem(folder)
        if problem:
            problems.append(f"{what} folder {folder}: {problem}")
    try:
        free: int | None = shutil.disk_usage(segments_root).free
    except OSError:
        free = None
    if free is not None and free < min_free_bytes:
        problems.append(f"{free // (1024 * 1024)} MB free under {segments_root}, below storage.min_free_mb")
    if waiting_upload:
        problems.append(f"{waiting_upload} segment(s) waiting in the spool for the remote store")
    if problems:
        return Check("storage", False, "; ".join(problems))
    return Check("storage", True, "recordings and data folders writable")


def _folder_problem(folder: Path) -> str | None:
    """None when a small file can be created and removed in ``folder``, else what went wrong."""
    probe = folder / f".vigie-ready-{os.getpid()}-{threading.get_ident()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        return err.strerror or type(err).__name__
    return None
