"""Moving finished segments from the local spool to a remote segment store (S3): uploads on a small pool of
threads, indexing on the single writer thread.

Recorders always write into the local spool (``<data_dir>/segments``): fast, and crash-safe with the local
reconciliation. When the store is remote, each finished segment the sink receives is offered to the pool
(:meth:`SegmentUploader.segment`); a pool thread uploads it (``store.put``) and hands back the result; the writer
thread collects the stored segments (:meth:`~SegmentUploader.completed`), indexes them in its next batch, and then
tells the uploader (:meth:`~SegmentUploader.indexed`), which deletes the local copy. So a segment is indexed only
once its bytes are in the store, and its local file is deleted only once it is both stored and indexed (or its
index row is kept in the writer's journal).

Backpressure: the pool's queue is bounded. When it is full the segment simply stays in the spool (a file on disk,
remembered as pending): :meth:`~SegmentUploader.requeue`, a periodic job, offers it again later, together with
spool files nobody reported (a lost message, a restart). Nothing is dropped.

While the store is failing, segments are not offered at all (each try could hold a thread for the client's
timeouts): ``requeue`` offers one at a time until one succeeds. :meth:`~SegmentUploader.flush` is the synchronous
form (start-up, before any recorder, and tests): it uploads and indexes everything left, concurrently, and says how
many.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol

from vigie.domain.recording import Segment, SegmentState, SegmentStore
from vigie.recording.reconcile import QUARANTINE_DIR
from vigie.recording.segment_writer import SEGMENT_SUFFIX, describe_segment

log = logging.getLogger(__name__)

UNREPORTED_GRACE_S: Final = 300.0
"""A spool file nobody reported is uploaded only once this old: its recorder's message may be on its way (the
sink would then upload it itself)."""
UPLOAD_WORKERS: Final = 4
"""Uploads at once: each ``put`` mostly waits on the network, so a few threads multiply the throughput."""
UPLOAD_QUEUE: Final = 64
"""Segments waiting for an upload thread at most; beyond, they wait in the spool for ``requeue``."""


class UploadIndex(Protocol):
    """What the uploader needs of the segment index (``vigie.storage.SqlSegmentIndex`` provides it)."""

    def add(self, segment: Segment) -> Segment: ...

    def by_key(self, key: str) -> Segment | None: ...


@dataclass(frozen=True, slots=True)
class _Done:
    """An upload thread's result: the segment is in the store (``error`` None), or not."""

    key: str
    segment: Segment
    error: BaseException | None


class SegmentUploader:
    """Uploads spool files to ``store`` on ``workers`` threads (see the module docstring).

    Every method but the threads' own work is called from one thread (the writer's): the bookkeeping is that
    thread's, the threads only take keys from a bounded queue and put results on another."""

    def __init__(
        self,
        spool: Path,
        store: SegmentStore,
        index: UploadIndex,
        *,
        workers: int = UPLOAD_WORKERS,
        queue_size: int = UPLOAD_QUEUE,
        grace_s: float = UNREPORTED_GRACE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if workers < 1 or queue_size < 1:
            raise ValueError(f"an uploader needs at least one worker and one queue slot ({workers}, {queue_size})")
        self.spool = Path(spool)
        self._store = store
        self._index = index
        self._grace = grace_s
        self._clock = clock
        self.workers = workers
        self._pending: dict[str, Segment] = {}
        """Segments reported or found, not yet stored and indexed (queued, uploading, waiting in the spool)."""
        self._queued: set[str] = set()
        """Keys offered to the pool whose result has not been collected yet."""
        self._stored: set[str] = set()
        """Keys stored, handed to the writer to index, not yet confirmed."""
        self._work: queue.Queue[tuple[str, Segment] | None] = queue.Queue(maxsize=queue_size)
        self._done: queue.SimpleQueue[_Done] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Condition()
        self._unfinished = 0
        """Offered to the pool, result not yet handed back (guarded by ``_idle``)."""
        self._failing = False
        self.uploaded = 0
        """Segments stored since this uploader was built."""

    @property
    def pending(self) -> dict[str, Segment]:
        """Segments not yet both stored and indexed."""
        return dict(self._pending)

    def segment(self, segment: Segment) -> None:
        """A recorder finished ``segment`` in the spool: offer it to the pool (unless the store is failing or the
        queue is full: then it waits in the spool for ``requeue``)."""
        self._pending[segment.key] = segment
        if not self._failing:
            self._offer(segment.key, segment)

    def completed(self) -> list[Segment]:
        """The segments stored since the last call, for the caller to index, then confirm with :meth:`indexed`
        (or give back with :meth:`not_indexed`). Failures are noted (the store is failing: offers pause)."""
        stored: list[Segment] = []
        while True:
            try:
                done = self._done.get_nowait()
            except queue.Empty:
                return stored
            self._queued.discard(done.key)
            if self._result(done):
                stored.append(done.segment)

    def indexed(self, segments: Iterable[Segment]) -> None:
        """These stored segments are indexed (or their rows kept in the writer's journal): delete the local copies."""
        for segment in segments:
            self._stored.discard(segment.key)
            self._pending.pop(segment.key, None)
            (self.spool / segment.key).unlink(missing_ok=True)

    def not_indexed(self, segments: Iterable[Segment]) -> None:
        """These stored segments could not be indexed: pending again (uploaded again, then indexed, by a retry)."""
        for segment in segments:
            self._stored.discard(segment.key)
            self._pending[segment.key] = segment

    def requeue(self, _now: datetime | None = None) -> int:
        """Offer the pool what waits in the spool: reported segments first, then finished files nobody reported
        (once ``grace_s`` old). Only one while the store fails. Return how many were offered."""
        offered = 0
        for key, segment in self._waiting(self._grace):
            if self._work.full():
                break
            if not self._offer(key, segment):
                break
            offered += 1
            if self._failing:
                break
        return offered

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Wait until no upload is queued or under way (at stop, before ``flush``), at most ``timeout_s``; the
        results wait for ``completed``. True when none is left."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout_s)

    def flush(self, _now: datetime | None = None, *, grace_s: float | None = None) -> int:
        """Upload and index every spool file not yet stored, now, ``workers`` at a time; stop after a round with a
        failure. Return how many were uploaded and indexed. ``grace_s=0`` at start-up, when no recorder runs."""
        self.wait()
        moved = self._index_all(self.completed())
        waiting = list(self._waiting(self._grace if grace_s is None else grace_s))
        if not waiting:
            return moved
        with ThreadPoolExecutor(self.workers, thread_name_prefix="segment-flush") as pool:
            for start in range(0, len(waiting), self.workers):
                keys, segments = zip(*waiting[start : start + self.workers], strict=True)
                results = list(pool.map(self._upload, keys, segments))
                stored = [done.segment for done in results if self._result(done)]
                moved += self._index_all(stored)
                if len(stored) < len(results):
                    break
        return moved

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop the upload threads: what is still queued is not uploaded (it stays in the spool, pending, for the
        next ``flush`` or start), the uploads under way finish (at most ``timeout_s``)."""
        while True:
            try:
                item = self._work.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._queued.discard(item[0])
                with self._idle:
                    self._unfinished -= 1
        for _thread in self._threads:
            self._work.put(None)  # the queue was emptied: room for one per thread
        for thread in self._threads:
            thread.join(timeout=timeout_s)
        self._threads = []

    def _offer(self, key: str, segment: Segment) -> bool:
        """Hand ``key`` to the pool; False when the queue is full (the file waits in the spool)."""
        if key in self._queued or key in self._stored:
            return True
        with self._idle:
            try:
                self._work.put_nowait((key, segment))
            except queue.Full:
                return False
            self._unfinished += 1
        self._queued.add(key)
        self._start_threads()
        return True

    def _start_threads(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(target=self._run, name=f"segment-upload-{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            done = self._upload(*item)
            with self._idle:
                self._done.put(done)
                self._unfinished -= 1
                self._idle.notify_all()

    def _upload(self, key: str, segment: Segment) -> _Done:
        """Put the spool file in the store (a pool thread); a file already gone must be in the store already."""
        path = self.spool / key
        try:
            if path.is_file():
                self._store.put(key, path)
            elif not self._store.exists(key):
                return _Done(key, segment, FileNotFoundError(f"{key} is neither in the spool nor in the store"))
        except Exception as err:  # the store failed: the file stays, retried later
            return _Done(key, segment, err)
        return _Done(key, segment, None)

    def _result(self, done: _Done) -> bool:
        """Note an upload's result (writer thread); True when the segment is stored and now waits to be indexed."""
        if isinstance(done.error, FileNotFoundError):
            log.error("segment %s is neither in the spool nor in the store: not indexed", done.key)
            self._pending.pop(done.key, None)
            return False
        if done.error is not None:
            if not self._failing:
                err = done.error
                log.warning(
                    "cannot upload segment %s yet (%s: %s); kept in the spool", done.key, type(err).__name__, err
                )
            self._failing = True
            return False
        if self._failing:
            log.info("segment uploads work again")
        self._failing = False
        self.uploaded += 1
        self._stored.add(done.key)
        return True

    def _index_all(self, stored: list[Segment]) -> int:
        """Index stored segments here (``flush``: no writer batch), then delete their local copies."""
        indexed: list[Segment] = []
        try:
            for segment in stored:
                if self._index.by_key(segment.key) is None:
                    self._index.add(segment)
                indexed.append(segment)
        except Exception as err:  # the index failed: those left are uploaded and indexed again later
            log.warning("cannot index uploaded segments yet (%s: %s); kept in the spool", type(err).__name__, err)
            self.not_indexed(stored[len(indexed) :])
        self.indexed(indexed)
        return len(indexed)

    def _waiting(self, grace: float) -> Iterator[tuple[str, Segment]]:
        """What is neither under way nor stored: reported segments, then unreported spool files old enough."""
        busy = self._queued | self._stored
        for key, segment in list(self._pending.items()):
            if key not in busy:
                yield key, segment
        for key in self._spool_keys():
            if key in self._pending or key in busy:
                continue
            found = self._index.by_key(key) or self._describe(key, grace)
            if found is not None:
                self._pending[key] = found
                yield key, found

    def _describe(self, key: str, grace: float) -> Segment | None:
        """The segment of an unreported spool file (read back), once older than ``grace``; None to leave it."""
        path = self.spool / key
        try:
            if self._clock() - path.stat().st_mtime < grace:
                return None
        except FileNotFoundError:
            return None
        camera_id, _, _ = key.partition("/")
        if f"/{QUARANTINE_DIR}/" in key:
            return None  # quarantined files are indexed by reconciliation, never described here
        found = describe_segment(self.spool, key, SegmentState.COMPLETE, camera_id)
        if found is None:
            log.warning("spool file %s is unreadable: left for reconciliation to quarantine", key)
        return found

    def _spool_keys(self) -> Iterator[str]:
        """Finished segments in the spool (``.ts``, and quarantined files), never the ones being written."""
        for dirpath, _dirs, files in os.walk(self.spool):
            base = Path(dirpath)
            quarantined = base.name == QUARANTINE_DIR
            for name in sorted(files):
                if name.startswith("."):
                    continue
                if name.endswith(SEGMENT_SUFFIX) or quarantined:
                    yield (base / name).relative_to(self.spool).as_posix()
