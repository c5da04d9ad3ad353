"""Moving finished segments from the local spool to a remote segment store (S3), on the single writer thread.

Recorders always write into the local spool (``<data_dir>/segments``): fast, and crash-safe with the local
reconciliation. When the store is remote, each finished segment the sink receives is uploaded (``store.put``),
then indexed, then its local copy deleted: a segment is indexed only once its bytes are in the store, and its
local file is deleted only once it is both stored and indexed. A failed upload keeps the file (and the segment, in
memory) for :meth:`SegmentUploader.flush`, a periodic job that also picks up spool files nobody reported (a lost
message, a restart), so no segment is ever lost.

While the store is failing, segments are not tried inline (each try could block the writer for the client's
timeouts): they wait for the next ``flush``, which tries one file and goes on only if it succeeds.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

from vigie.domain.recording import Segment, SegmentState, SegmentStore
from vigie.recording.reconcile import QUARANTINE_DIR
from vigie.recording.segment_writer import SEGMENT_SUFFIX, describe_segment

log = logging.getLogger(__name__)

UNREPORTED_GRACE_S = 300.0
"""A spool file nobody reported is uploaded by ``flush`` only once this old: its recorder's message may be on
its way (the sink would then upload it itself)."""


class UploadIndex(Protocol):
    """What the uploader needs of the segment index (``vigie.storage.SqlSegmentIndex`` provides it)."""

    def add(self, segment: Segment) -> Segment: ...

    def by_key(self, key: str) -> Segment | None: ...


class SegmentUploader:
    """Uploads spool files to ``store`` and indexes them in ``index`` once stored (see the module docstring)."""

    def __init__(
        self,
        spool: Path,
        store: SegmentStore,
        index: UploadIndex,
        *,
        grace_s: float = UNREPORTED_GRACE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spool = Path(spool)
        self._store = store
        self._index = index
        self._grace = grace_s
        self._clock = clock
        self._pending: dict[str, Segment] = {}
        """Segments reported but not yet uploaded (the store failed): uploaded and indexed by ``flush``."""
        self._failing = False

    @property
    def pending(self) -> dict[str, Segment]:
        return dict(self._pending)

    def segment(self, segment: Segment) -> None:
        """A recorder finished ``segment`` in the spool: upload it, index it, delete the local file; on failure
        keep it for ``flush``."""
        self._pending[segment.key] = segment
        if not self._failing:
            self._move(segment.key, segment)

    def flush(self, _now: datetime | None = None, *, grace_s: float | None = None) -> int:
        """Upload every spool file not yet stored (reported segments first); stop at the first failure. Return
        how many were uploaded. ``grace_s=0`` at start-up, when no recorder runs."""
        grace = self._grace if grace_s is None else grace_s
        moved = 0
        for key in [*self._pending, *(k for k in self._spool_keys() if k not in self._pending)]:
            segment = self._pending.get(key) or self._index.by_key(key)
            if segment is None:
                segment = self._describe(key, grace)
                if segment is None:
                    continue
            if not self._move(key, segment):
                break
            moved += 1
        return moved

    def _move(self, key: str, segment: Segment) -> bool:
        """Upload, index (unless already indexed), delete the local copy. False when the store failed."""
        path = self.spool / key
        try:
            if path.is_file():
                self._store.put(key, path)
            elif not self._store.exists(key):
                log.error("segment %s is neither in the spool nor in the store: not indexed", key)
                self._pending.pop(key, None)
                return True
            if self._index.by_key(key) is None:
                self._index.add(segment)
        except Exception as err:  # store or index failure: the file stays, retried by flush
            if not self._failing:
                log.warning("cannot upload segment %s yet (%s: %s); kept in the spool", key, type(err).__name__, err)
            self._failing = True
            return False
        if self._failing:
            log.info("segment uploads work again")
        self._failing = False
        self._pending.pop(key, None)
        path.unlink(missing_ok=True)
        return True

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
