"""Cost of sharing the recording-gap alarms through the database (issue 17) at the métropole's size: what the
monitor's round adds on the single writer's thread, and what the health view's read costs an API process.

Builds the real :class:`~vigie.runtime.workers.monitor.ServiceMonitor` with the real
:class:`~vigie.storage.recording_gaps.SqlRecordingGaps` on a migrated database (SQLite file by default, or
``--database-url``), N cameras, and times:

- a quiet round (every camera recorded, nothing changed), with the ledger against without it: the ratio is what
  the ledger adds to the writer's round when nothing happens (a check-time write every 5 s included, amortised);
- the round where every camera goes silent at once (N alarms opened: a network down), and the round where they
  all clear: one transaction each;
- the health view's read (``report``) for all N cameras, with no gap since (a quiet day), then with ``--history``
  closed gaps of the last 24 hours.

    .venv/bin/python bench/gap_ledger.py [--cameras 4891] [--history 10000] [--database-url URL]

Last lines ``name: value``.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vigie.domain.recording import RecordingGap, Segment
from vigie.recording.gaps import GapWatch
from vigie.runtime.workers.monitor import ServiceMonitor
from vigie.storage import create_engine_for, migrate
from vigie.storage.recording_gaps import SqlRecordingGaps

SEGMENT_S = 10.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)  # a fixed instant: the monitor and the ledger only use the times given


def segment(camera: str, start: datetime) -> Segment:
    return Segment(camera, f"{camera}/{start.timestamp():.0f}.ts", start, start + timedelta(seconds=SEGMENT_S), 1, "")


def quiet_rounds(cameras: list[str], ledger: SqlRecordingGaps | None, rounds: int) -> float:
    """Seconds per round of ``rounds`` quiet rounds, one a second, each camera's segment every 10 s."""
    now = [T0]
    monitor = ServiceMonitor(cameras, GapWatch(SEGMENT_S), clock=lambda: now[0], ledger=ledger)
    monitor.tick(T0)  # the watch begins (not timed: once a run)
    spent = 0.0
    for n in range(1, rounds + 1):
        now[0] = T0 + timedelta(seconds=n)
        due = [c for i, c in enumerate(cameras) if i % 10 == n % 10]
        for camera in due:
            monitor.observe(segment(camera, now[0] - timedelta(seconds=SEGMENT_S)))
        began = time.perf_counter()
        monitor.tick(now[0])
        spent += time.perf_counter() - began
    return spent / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4891)
    parser.add_argument("--history", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    logging.getLogger("vigie.runtime.workers.monitor").setLevel(logging.ERROR)  # the alarms' lines, by thousands
    cameras = [f"cam-{n:05d}" for n in range(args.cameras)]
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'vigie.db'}"
        engine = create_engine_for(url)
        migrate(engine)
        ledger = SqlRecordingGaps(engine)
        bare = quiet_rounds(cameras, None, args.rounds)
        shared = quiet_rounds(cameras, ledger, args.rounds)

        now = [T0]
        monitor = ServiceMonitor(cameras, GapWatch(SEGMENT_S), clock=lambda: now[0], ledger=ledger)
        monitor.tick(T0)
        now[0] = T0 + timedelta(seconds=2 * SEGMENT_S + 1)
        began = time.perf_counter()
        monitor.tick(now[0])  # every camera silent: N alarms
        opened = time.perf_counter() - began
        for camera in cameras:
            monitor.observe(segment(camera, now[0]))
        now[0] += timedelta(seconds=1)
        began = time.perf_counter()
        monitor.tick(now[0])  # every alarm cleared
        closed = time.perf_counter() - began

        quiet_reads = []
        for _ in range(5):  # every alarm cleared, and the table emptied: a quiet day
            began = time.perf_counter()
            ledger.report(cameras, now[0], 500)
            quiet_reads.append(time.perf_counter() - began)

        history = [
            RecordingGap(cameras[i % len(cameras)], T0 + timedelta(seconds=60 + i), T0 + timedelta(seconds=61 + i), T0)
            for i in range(args.history)
        ]
        ledger.write(history, [], now[0])
        reads = []
        for _ in range(5):
            began = time.perf_counter()
            report = ledger.report(cameras, T0, 500)
            reads.append(time.perf_counter() - began)
        engine.dispose()
    print(f"database: {engine.url.get_backend_name()}, {args.cameras} cameras, {report.count} gaps in 24 h")
    print(f"quiet_round_without_ledger_ms: {bare * 1000:.3f}")
    print(f"quiet_round_with_ledger_ms: {shared * 1000:.3f}")
    print(f"quiet_round_ratio: {shared / bare:.2f}")
    print(f"round_all_alarms_opened_ms: {opened * 1000:.1f}")
    print(f"round_all_alarms_cleared_ms: {closed * 1000:.1f}")
    print(f"health_read_all_cameras_no_recent_gap_ms: {min(quiet_reads) * 1000:.1f}")
    print(f"health_read_all_cameras_ms: {min(reads) * 1000:.1f}")


if __name__ == "__main__":
    main()
