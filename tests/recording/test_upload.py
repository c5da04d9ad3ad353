"""Issue 16: segments go to the remote store on a small pool of threads, not one by one on the writer thread, and
the pool's queue is bounded: when it is full the segment waits in the spool (a file on disk) and is uploaded later.
Nothing is lost and nothing is indexed before its bytes are stored. (Against a real S3:
tests/runtime/test_segment_upload_s3.py.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from tests.recording.export_samples import record
from tests.support.waiting import wait_for
from vigie.domain.recording import Segment
from vigie.recording.upload import SegmentUploader

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class SpyStore:
    """A segment store in memory that notes how many ``put`` run at once; ``hold`` (cleared) keeps them waiting."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.running = 0
        self.most_at_once = 0
        self.started = threading.Semaphore(0)
        self.hold = threading.Event()
        self.hold.set()
        self._lock = threading.Lock()

    def put(self, key: str, source: Path) -> int:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.started.release()
        try:
            self.hold.wait(10)
            data = source.read_bytes()
            with self._lock:
                self.objects[key] = data
            return len(data)
        finally:
            with self._lock:
                self.running -= 1

    def exists(self, key: str) -> bool:
        return key in self.objects

    def open(self, key: str) -> BinaryIO:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def keys(self, prefix: str = "") -> Iterator[str]:
        return iter(sorted(k for k in self.objects if k.startswith(prefix)))

    def local_path(self, key: str) -> Path | None:
        return None


class ListIndex:
    def __init__(self) -> None:
        self.rows: dict[str, Segment] = {}

    def add(self, segment: Segment) -> Segment:
        self.rows[segment.key] = segment
        return segment

    def by_key(self, key: str) -> Segment | None:
        return self.rows.get(key)


def spool_files(spool: Path) -> list[str]:
    return sorted(p.relative_to(spool).as_posix() for p in spool.rglob("*.ts"))


def index_what_is_stored(uploader: SegmentUploader, index: ListIndex) -> int:
    """What the sink does at each round: index the stored segments, then confirm them."""
    stored = uploader.completed()
    for segment in stored:
        index.add(segment)
    uploader.indexed(stored)
    return len(index.rows)


def test_uploads_run_at_once_on_the_pool_and_are_indexed_by_the_caller(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    segments = record(spool, "cam-1", [(T0, 8)])  # four 2-second segments
    store, index = SpyStore(), ListIndex()
    store.hold.clear()
    uploader = SegmentUploader(spool, store, index, workers=4)
    for segment in segments:
        uploader.segment(segment)
    for _ in segments:
        assert store.started.acquire(timeout=10), "each upload started before any finished"
    assert store.running == 4 and store.most_at_once == 4, "four uploads under way at the same time"
    assert index.rows == {}, "nothing indexed before it is stored"
    store.hold.set()

    wait_for(lambda: index_what_is_stored(uploader, index) == 4, 10, "the four segments stored and indexed")
    assert sorted(store.objects) == [s.key for s in segments]
    assert spool_files(spool) == [] and uploader.pending == {}
    uploader.close()


def test_a_full_queue_leaves_segments_in_the_spool_and_they_are_uploaded_later(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    segments = record(spool, "cam-1", [(T0, 10)])  # five segments
    store, index = SpyStore(), ListIndex()
    store.hold.clear()
    uploader = SegmentUploader(spool, store, index, workers=1, queue_size=1)
    uploader.segment(segments[0])
    assert store.started.acquire(timeout=10)  # the one thread is busy with the first
    for segment in segments[1:]:
        uploader.segment(segment)  # one waits in the queue, the others in the spool: never blocks, never dropped

    assert set(uploader.pending) == {s.key for s in segments}
    assert spool_files(spool) == [s.key for s in segments]
    assert uploader.requeue() == 0, "the queue is still full"
    store.hold.set()

    def drained() -> bool:
        index_what_is_stored(uploader, index)
        uploader.requeue()  # the periodic job offers what waits in the spool as room frees up
        return len(index.rows) == len(segments)

    wait_for(drained, 10, "every segment uploaded once the queue had room")
    assert sorted(store.objects) == [s.key for s in segments]
    assert spool_files(spool) == [] and uploader.pending == {}
    assert store.most_at_once == 1
    uploader.close()


def test_flush_uploads_and_indexes_everything_left_at_start_up(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    segments = record(spool, "cam-1", [(T0, 6)])  # never reported (a restart): found in the spool
    store, index = SpyStore(), ListIndex()
    uploader = SegmentUploader(spool, store, index, workers=3)
    assert uploader.flush(grace_s=0) == 3
    assert sorted(index.rows) == sorted(store.objects) == [s.key for s in segments]
    assert [index.rows[s.key].sha256 for s in segments] == [s.sha256 for s in segments]
    assert spool_files(spool) == []
