"""Writes that must never be lost — segment index rows, audit entries, alerts, statistics — kept while the database
cannot take them, and written in their order when it can again (DESIGN: "retried or journalled until written").

:class:`WriteJournal` is an append-only file of JSON lines under the data folder (``<data_dir>/journal/``), each
line flushed and fsynced before the write counts as kept: a service killed during a database outage replays it at
its next start. A second small file counts the lines already written, so a replay cut short goes on where it
stopped (at most the entry being written when the process died is written twice; a segment row never is, its key is
looked up first).

:class:`DurableWriter` is the policy: a write goes to the database; when the database cannot take it
(:class:`~vigie.storage.database.DatabaseUnavailableError`), or while older writes wait in the journal, it goes to
the journal; the journal is tried again every ``retry_every_s``, after a cheap probe says the database takes writes.
A write the database refuses for another reason (a bug, a constraint) would block the journal forever: it is moved
to ``rejected.jsonl`` with the error, logged, and never silently dropped.

Batches (issue 16): the writer thread writes a round's segment rows (or statistics) in one transaction
(:meth:`DurableWriter.submit_many`); a batch the database cannot take goes to the journal whole, in its order, with
one fsync. A replay writes consecutive segment rows (or statistics) in one transaction too; audit entries and alerts
one by one, in their place.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.clock import Clock
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.recording import Segment, SegmentState
from vigie.domain.statistics import StatisticBucket
from vigie.storage.database import DatabaseLostError, DatabaseUnavailableError

log = logging.getLogger(__name__)

JOURNAL_DIR: Final = "journal"
JOURNAL_FILE: Final = "writes.jsonl"
DONE_FILE: Final = "writes.done"
REJECTED_FILE: Final = "rejected.jsonl"
RETRY_EVERY_S: Final = 2.0
"""How often the journal is tried again while the database is unavailable (a cheap probe first)."""
REPLAY_BATCH: Final = 500
"""The most journalled writes replayed in one go: the writer thread has workers to listen to meanwhile."""

Write = Segment | AuditEvent | Observation | StatisticBucket
"""What is never dropped."""


def journal_dir(data_dir: Path) -> Path:
    return data_dir / JOURNAL_DIR


def encode(write: Write) -> dict[str, Any]:
    """One journal line's data: the kind and the fields, times in ISO 8601 with their offset."""
    if isinstance(write, Segment):
        return {
            "kind": "segment",
            "camera_id": write.camera_id,
            "key": write.key,
            "start": write.start.isoformat(),
            "end": write.end.isoformat(),
            "bytes": write.bytes,
            "sha256": write.sha256,
            "state": write.state.value,
        }
    if isinstance(write, AuditEvent):
        return {
            "kind": "audit",
            "actor": write.actor,
            "action": str(write.action),
            "target": write.target,
            "details": dict(write.details),
            "at": None if write.at is None else write.at.isoformat(),
        }
    if isinstance(write, Observation):
        return {
            "kind": "alert",
            "camera_id": write.camera_id,
            "module": write.module,
            "alert_kind": write.kind,
            "at": write.at.isoformat(),
            "regions": [[r.x, r.y, r.w, r.h] for r in write.regions],
            "score": write.score,
            "model_version": write.model_version,
        }
    return {
        "kind": "statistic",
        "camera_id": write.camera_id,
        "module": write.module,
        "statistic_kind": write.kind,
        "start": write.start.isoformat(),
        "end": write.end.isoformat(),
        "value": write.value,
    }


def decode(data: dict[str, Any]) -> Write:
    """The write a journal line holds; ``ValueError`` (or ``KeyError``) for a line that is not one."""
    kind = data["kind"]
    if kind == "segment":
        return Segment(
            data["camera_id"],
            data["key"],
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(data["end"]),
            int(data["bytes"]),
            data["sha256"],
            SegmentState(data["state"]),
        )
    if kind == "audit":
        at = data["at"]
        return AuditEvent(
            data["actor"],
            AuditAction(data["action"]),
            data["target"],
            data["details"],
            None if at is None else datetime.fromisoformat(at),
        )
    if kind == "alert":
        return Observation(
            data["camera_id"],
            data["module"],
            data["alert_kind"],
            datetime.fromisoformat(data["at"]),
            tuple(Box(*map(float, r)) for r in data["regions"]),
            float(data["score"]),
            data["model_version"],
        )
    if kind == "statistic":
        value = data["value"]
        return StatisticBucket(
            data["camera_id"],
            data["module"],
            data["statistic_kind"],
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(data["end"]),
            None if value is None else float(value),
        )
    raise ValueError(f"unknown journal entry kind {kind!r}")


class WriteJournal:
    """The append-only file of writes waiting for the database (see the module docstring). One writer thread."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / JOURNAL_FILE
        self._done_path = self.folder / DONE_FILE
        self._lock = threading.Lock()
        self._lines = self._count_lines()
        self._done = min(self._read_done(), self._lines)

    def __len__(self) -> int:
        """Writes kept and not yet written to the database."""
        return self._lines - self._done

    def append(self, write: Write) -> None:
        """Keep ``write``: on disk (fsynced) when this returns. ``OSError`` when the file cannot be written."""
        self.append_many((write,))

    def append_many(self, writes: Sequence[Write]) -> None:
        """Keep ``writes``, in their order, with one fsync (a batch the database refused)."""
        if not writes:
            return
        text = "".join(json.dumps(encode(w), ensure_ascii=False, separators=(",", ":")) + "\n" for w in writes)
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            self._lines += len(writes)

    def pending(self, limit: int) -> Iterator[Write | Exception]:
        """The oldest writes not yet written, at most ``limit``, in order; a line that cannot be read is yielded as
        the error (the caller sets it aside, the rest goes on)."""
        if len(self) == 0:
            return
        first = self._done
        with self.path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines):
                if number < first:
                    continue
                if number >= first + limit:
                    return
                try:
                    yield decode(json.loads(line))
                except (ValueError, KeyError, TypeError) as err:
                    yield err

    def written(self, count: int = 1) -> None:
        """The ``count`` oldest pending writes are in the database now. Once none is left, the journal's files are
        removed."""
        with self._lock:
            self._done += count
            if self._done >= self._lines:
                self.path.unlink(missing_ok=True)
                self._done_path.unlink(missing_ok=True)
                self._lines = self._done = 0
                return
            partial = self._done_path.with_name(f".{DONE_FILE}.partial")
            partial.write_text(f"{self._done}\n", encoding="utf-8")
            partial.replace(self._done_path)

    def reject(self, line: Write | Exception, error: BaseException) -> None:
        """Set the oldest pending write aside, in ``rejected.jsonl`` with why, for a person to look at."""
        write = encode(line) if not isinstance(line, Exception) else {"unreadable": str(line)}
        entry = {"error": f"{type(error).__name__}: {error}", "write": write}
        with (self.folder / REJECTED_FILE).open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        self.written()

    def set_aside(self, write: Write, error: BaseException) -> None:
        """Put a write that never was in the journal in ``rejected.jsonl`` with why (a batch item refused for good)."""
        entry = {"error": f"{type(error).__name__}: {error}", "write": encode(write)}
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with (self.folder / REJECTED_FILE).open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")

    def _count_lines(self) -> int:
        try:
            with self.path.open("rb") as lines:
                return sum(1 for _ in lines)
        except FileNotFoundError:
            return 0

    def _read_done(self) -> int:
        try:
            return max(0, int(self._done_path.read_text(encoding="utf-8").strip() or 0))
        except (FileNotFoundError, ValueError):
            return 0


BATCHED_KINDS: Final = (Segment, StatisticBucket)
"""What a replay writes in runs of one kind (order within the run kept); audit entries and alerts one by one."""


def _same_kind_run(pending: Sequence[Write | Exception], at: int) -> list[Write]:
    """The consecutive writes from ``at`` of the same batched kind as ``pending[at]`` (empty for other kinds)."""
    first = pending[at]
    kind = next((k for k in BATCHED_KINDS if isinstance(first, k)), None)
    if kind is None:
        return []
    run: list[Write] = []
    for item in pending[at:]:
        if not isinstance(item, kind):
            break
        run.append(item)
    return run


@dataclass(frozen=True, slots=True)
class Outage:
    """The database refusing writes, as the writer saw it."""

    since: datetime
    error: str
    lost: bool = False
    """The database file was deleted or replaced: nothing is written until a restart."""


class DurableWriter:
    """Writes to the database through ``write``, or keeps in the journal (see the module docstring).

    ``write(item)`` stores one item (raising :class:`DatabaseUnavailableError` when the database cannot take it
    now); ``probe()`` raises the same when the database does not take writes (a small write, quick to fail)."""

    def __init__(
        self,
        journal: WriteJournal,
        write: Callable[[Write], None],
        *,
        probe: Callable[[], None],
        clock: Clock,
        retry_every_s: float = RETRY_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
        write_many: Callable[[Sequence[Write]], None] | None = None,
    ) -> None:
        self.journal = journal
        self._write = write
        self._write_many = write_many
        """Writes many of one kind (segment rows, statistics) in one transaction: a replay's consecutive runs."""
        self._probe = probe
        self._clock = clock
        self._retry_every = retry_every_s
        self._monotonic = monotonic
        self._next_try = float("-inf")
        self._outage: Outage | None = None
        self.replayed = 0
        """Writes taken from the journal into the database since this writer was built."""
        self._replayed_in_outage = 0
        self.journalled = 0
        """Writes sent to the journal since this writer was built."""
        self.on_recovered: Callable[[Outage, int], None] | None = None
        """Called once the journal is empty again after an outage, with the outage and how many were replayed."""
        self.on_unavailable: Callable[[Outage], Write | None] | None = None
        """Called when an outage begins: what it returns is journalled first, before the write that found it (the
        audit's ``database.unavailable``, so the chain shows the outage before what was kept during it)."""

    @property
    def outage(self) -> Outage | None:
        """The database refusing writes now (as last seen), or None."""
        return self._outage

    def writable(self) -> bool:
        """Whether writes go to the database now (no outage seen, nothing waiting in the journal)."""
        return self._outage is None and len(self.journal) == 0

    def submit(self, item: Write) -> None:
        """Store ``item`` now, or keep it in the journal until the database takes it. Raises only if neither the
        database nor the journal's file can take it (``OSError``): then nothing is left to keep it."""
        if self.writable():
            try:
                self._write(item)
                return
            except DatabaseUnavailableError as err:
                self.unavailable(err)
        self.journal.append(item)
        self.journalled += 1

    def submit_many(self, items: Sequence[Write], write_many: Callable[[Sequence[Write]], None]) -> None:
        """Store ``items`` with ``write_many`` (one transaction: all or none), or keep them all in the journal, in
        their order, until the database takes them. A batch the database refuses for another reason (one bad item)
        is written item by item, so that only the bad item is set aside (in ``rejected.jsonl``, logged)."""
        if not items:
            return
        if self.writable():
            try:
                write_many(items)
                return
            except DatabaseUnavailableError as err:
                self.unavailable(err)
            except Exception:
                log.warning("a batch of %d write(s) was refused; writing them one by one", len(items), exc_info=True)
                self._one_by_one(items)
                return
        self.journal.append_many(items)
        self.journalled += len(items)

    def _one_by_one(self, items: Sequence[Write]) -> None:
        for index, item in enumerate(items):
            if not self.writable():
                self.journal.append_many(items[index:])
                self.journalled += len(items) - index
                return
            try:
                self.submit(item)
            except OSError:
                raise
            except Exception as err:  # refused for good: set aside, never silently dropped
                log.exception("a %s was refused; set aside in %s", type(item).__name__, REJECTED_FILE)
                self.journal.set_aside(item, err)

    def unavailable(self, err: BaseException) -> None:
        """The database refused a write (here or elsewhere): from now on, writes go to the journal."""
        lost = isinstance(err, DatabaseLostError) or (self._outage is not None and self._outage.lost)
        if self._outage is None:
            log.error(
                "the database cannot be written (%s); writes that must not be lost are kept in %s and written when "
                "it can be again",
                err,
                self.journal.path,
            )
            self._outage = Outage(self._clock(), str(err), lost)
            self._replayed_in_outage = 0
            first = self.on_unavailable(self._outage) if self.on_unavailable is not None else None
            if first is not None:
                self.journal.append(first)
                self.journalled += 1
        elif lost and not self._outage.lost:
            self._outage = Outage(self._outage.since, str(err), lost=True)
        self._next_try = self._monotonic() + self._retry_every

    def lost(self, reason: str) -> None:
        """The database is gone: nothing more is tried until a restart (which replays the journal)."""
        self.unavailable(DatabaseLostError(reason))

    def retry(self) -> int:
        """If due, write what waits in the journal, in order, up to ``REPLAY_BATCH``; stop at the first refusal.
        Return how many were written. Called on every round of the writer thread."""
        if self._outage is not None and self._outage.lost:
            return 0
        if self._outage is None and len(self.journal) == 0:
            return 0
        if self._monotonic() < self._next_try:
            return 0
        self._next_try = self._monotonic() + self._retry_every
        try:
            self._probe()
        except DatabaseUnavailableError as err:
            self.unavailable(err)
            return 0
        return self.replay()

    def replay(self, limit: int = REPLAY_BATCH) -> int:
        """Write journalled writes in order (at start, before any worker: all of them, in batches)."""
        written = 0
        pending = list(self.journal.pending(limit))
        at = 0
        while at < len(pending):
            run = _same_kind_run(pending, at) if self._write_many is not None else []
            if len(run) > 1 and self._write_many is not None:
                try:
                    self._write_many(run)  # consecutive segment rows (or statistics): one transaction
                except DatabaseUnavailableError as err:
                    self.unavailable(err)
                    break
                except Exception:  # one of them refused for good: each on its own, the bad one set aside
                    log.warning("a journalled batch of %d was refused; written one by one", len(run), exc_info=True)
                else:
                    self.journal.written(len(run))
                    written += len(run)
                    at += len(run)
                    continue
            stopped = False
            for item in run or pending[at : at + 1]:
                done = self._replay_one(item)
                if done is None:
                    stopped = True
                    break
                written += done
                at += 1
            if stopped:
                break
        self.replayed += written
        self._replayed_in_outage += written
        if len(self.journal) == 0 and self._outage is not None and not self._outage.lost:
            outage, self._outage = self._outage, None
            log.warning(
                "the database can be written again (refused writes since %s); %d kept write(s) written",
                outage.since.isoformat(),
                self._replayed_in_outage,
            )
            if self.on_recovered is not None:
                self.on_recovered(outage, self._replayed_in_outage)
        return written

    def _replay_one(self, item: Write | Exception) -> int | None:
        """Write the oldest journalled item: 1 when written, 0 when set aside, None when the database refused."""
        if isinstance(item, Exception):
            log.error("journal %s: an unreadable entry set aside in %s: %s", self.journal.path, REJECTED_FILE, item)
            self.journal.reject(item, item)
            return 0
        try:
            self._write(item)
        except DatabaseUnavailableError as err:
            self.unavailable(err)
            return None
        except Exception as err:  # refused for good: never blocks what follows, never silently dropped
            log.exception("a journalled %s was refused; set aside in %s", type(item).__name__, REJECTED_FILE)
            self.journal.reject(item, err)
            return 0
        self.journal.written()
        return 1

    def replay_all(self) -> int:
        """Everything the journal holds, at start (before any worker runs)."""
        total = 0
        while len(self.journal) > 0:
            written = self.replay()
            total += written
            if self._outage is not None:
                break
        return total
