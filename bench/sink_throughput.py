"""How many worker messages per second the writer thread (the sink) handles for a dense host, and what it costs
the supervisor's thread: one transaction per message (``flush_at=1``, as before issue 16) against batches (one
transaction per kind per supervisor round), same run, same load (issue 16).

The load is ``--cameras`` cameras (200: the soak's goal) for ``--seconds`` simulated seconds: per second and per
camera one analysis and one recorder health report (a few cameras change state each second), a segment every
``200/20`` = 10 s per camera, ~50 motion observations over a quarter of the cameras, a statistics bucket now and
then. The sink runs as in ``vigie serve`` (journal, database watch, audit chain, segment index, statistics), fed as
fast as it goes, with ``tick()`` after each fifth of a second's messages (the supervisor's ≤ 0.2 s round); time is
simulated (the sink's clocks are injected) so health refreshes and event flushes happen as in real time.

    .venv/bin/python bench/sink_throughput.py                     # SQLite, and PostgreSQL when one answers
    .venv/bin/python bench/sink_throughput.py --seconds 60 --postgres ""   # SQLite only
    # the code before batching, as it was (one transaction per write, health every 10 s of real time):
    git archive 39ac7ef src | tar -x -C /tmp/before && PYTHONPATH=/tmp/before/src \
        .venv/bin/python bench/sink_throughput.py --as-is

Printed last: messages per second and thread CPU per second of load, before and after, and the ratio.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from vigie.domain.camera import CameraHealth, HealthState  # noqa: E402
from vigie.domain.geometry import Box  # noqa: E402
from vigie.domain.observation import Observation  # noqa: E402
from vigie.domain.recording import Segment, SegmentState  # noqa: E402
from vigie.domain.statistics import StatisticBucket  # noqa: E402
from vigie.events.aggregation import EventAggregator  # noqa: E402
from vigie.governance.audit import AuditChain, AuditKeyring  # noqa: E402
from vigie.runtime.workers.database_watch import DatabaseWatch  # noqa: E402
from vigie.runtime.workers.journal import WriteJournal  # noqa: E402
from vigie.runtime.workers.recorder import RecordingHealth  # noqa: E402
from vigie.runtime.workers.sink import WorkerMessageSink  # noqa: E402
from vigie.storage import (  # noqa: E402
    SqlAuditStore,
    SqlSegmentIndex,
    SqlStatisticsRepo,
    create_engine_for,
    migrate,
)
from vigie.storage.repositories import SqlCameraStatusRepo, SqlEventRepo  # noqa: E402

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
POSTGRES_URL = "postgresql+psycopg://vigie:vigie@127.0.0.1:5432/vigie_test"
ROUNDS_PER_S = 5


class SimulatedTime:
    """The sink's two clocks (wall time for what it writes, monotonic for its refresh periods), moved by the load."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return 1000.0 + self.seconds


def load(cameras: list[str], second: int) -> Iterator[list[object]]:
    """Simulated second ``second`` of messages, in ``ROUNDS_PER_S`` slices (a supervisor round after each)."""
    n = len(cameras)
    messages: list[object] = []
    when = T0 + timedelta(seconds=second)
    flapping = {cameras[(second * 7 + k) % n] for k in range(2)}  # two cameras change state each second
    for i, camera in enumerate(cameras):
        state = HealthState.DEGRADED if camera in flapping and second % 2 else HealthState.ONLINE
        reason = "fps below target" if state is HealthState.DEGRADED else ""
        messages.append(CameraHealth(camera, state, when, reason, 12.5 - (i % 3) * 0.1, second % 5))
        messages.append(RecordingHealth(camera, HealthState.ONLINE, when))
    for k in range(n // 10):  # a 10-s segment per camera: n/10 per second
        camera = cameras[(second * (n // 10) + k) % n]
        start = when - timedelta(seconds=10)
        key = f"{camera}/{start:%Y/%m/%d}/{start:%Y%m%dT%H%M%S}.000000Z.ts"
        messages.append(Segment(camera, key, start, when, 2_500_000, "ab" * 32, SegmentState.COMPLETE))
    moving = cameras[: max(1, n // 4)]
    for k in range(n // 4):  # ~50 motion observations a second over a quarter of the cameras
        region = (Box(0.1, 0.1, 0.2 + 0.001 * (second % 50), 0.3),)
        messages.append(Observation(moving[k], "motion", "motion", when, region, 0.8))
    if second % 4 == 0:
        camera = cameras[second % n]
        messages.append(StatisticBucket(camera, "line_count", "line_count", when, when + timedelta(minutes=15), 42.0))
    size = -(-len(messages) // ROUNDS_PER_S)
    for start in range(0, len(messages), size):
        yield messages[start : start + size]


@dataclass(frozen=True)
class Result:
    messages: int
    wall_s: float
    cpu_s: float
    commits: int
    seconds: int

    @property
    def per_s(self) -> float:
        return self.messages / self.wall_s


def run(engine: Engine, folder: Path, cameras: list[str], seconds: int, flush_at: int | None) -> Result:
    """The sink on ``engine`` through ``seconds`` simulated seconds of load; ``flush_at=1`` is the per-message
    writing of before."""
    at = SimulatedTime()
    audit = AuditChain(SqlAuditStore(engine), AuditKeyring(folder / "keys"), clock=at.now)
    events = SqlEventRepo(engine)
    wanted: dict[str, Any] = {"monotonic": at.monotonic, "events_batch": getattr(events, "batch", None)}
    if flush_at is not None:
        wanted["flush_at"] = flush_at
    accepted = inspect.signature(WorkerMessageSink).parameters  # the code before batching takes none of them
    extra = {name: value for name, value in wanted.items() if name in accepted}
    sink = WorkerMessageSink(
        EventAggregator(events),
        SqlCameraStatusRepo(engine),
        audit,
        segments=SqlSegmentIndex(engine),
        statistics=SqlStatisticsRepo(engine),
        clock=at.now,
        journal=WriteJournal(folder / "journal"),
        watch=DatabaseWatch(engine, monotonic=at.monotonic),
        **extra,
    )
    commits = [0]
    event.listen(engine, "commit", lambda _conn: commits.__setitem__(0, commits[0] + 1))
    batches = [list(load(cameras, s)) for s in range(seconds)]  # built before timing
    total = sum(len(b) for slices in batches for b in slices)
    wall, cpu = time.perf_counter(), time.thread_time()
    for second, slices in enumerate(batches):
        for k, messages in enumerate(slices):
            at.seconds = second + k / ROUNDS_PER_S
            for message in messages:
                sink(message)  # type: ignore[arg-type]
            sink.tick()
    sink.close()
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    assert sink.writer is not None and len(sink.writer.journal) == 0, "nothing left in the journal"
    index = SqlSegmentIndex(engine)
    expected = sum(1 for slices in batches for b in slices for m in b if isinstance(m, Segment))
    assert index.count() == expected, f"{index.count()} segment rows, expected {expected}"
    return Result(total, wall, cpu, commits[0], seconds)


@contextmanager
def sqlite_database(folder: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{folder / 'vigie.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@contextmanager
def postgres_database(base_url: str) -> Iterator[Engine]:
    base = make_url(base_url)
    name = f"vigie_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine_for(base.set(database=name).render_as_string(hide_password=False))
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_answers(url: str) -> bool:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30, help="simulated seconds of load per run")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("VIGIE_TEST_POSTGRES_URL", POSTGRES_URL),
        help='a PostgreSQL server to create a scratch database on ("" to skip)',
    )
    parser.add_argument(
        "--as-is", action="store_true", help="one run of the sink as the code on PYTHONPATH has it (no flush_at)"
    )
    args = parser.parse_args()
    cameras = [f"cam-{n:04d}" for n in range(args.cameras)]
    backends = ["sqlite"] + (["postgresql"] if args.postgres and postgres_answers(args.postgres) else [])
    results: dict[tuple[str, str], Result] = {}
    for backend in backends:
        modes = (("as-is", None),) if args.as_is else (("before", 1), ("after", None))
        for mode, flush_at in modes:
            with tempfile.TemporaryDirectory(prefix="vigie-sink-bench-") as tmp:
                folder = Path(tmp)
                database = sqlite_database(folder) if backend == "sqlite" else postgres_database(args.postgres)
                with database as engine:
                    result = run(engine, folder, cameras, args.seconds, flush_at)
            results[backend, mode] = result
            print(
                f"{backend} {mode}: {result.messages} messages in {result.wall_s:.2f} s "
                f"({result.per_s:.0f}/s), {result.commits / result.seconds:.1f} transactions per second of load, "
                f"thread CPU {result.cpu_s:.2f} s = {result.cpu_s / result.seconds:.3f} s per second of load",
                flush=True,
            )
    load_per_s = next(iter(results.values())).messages / args.seconds
    print(f"load: {args.cameras} cameras, {load_per_s:.0f} messages per second, {args.seconds} s simulated")
    for backend in backends:
        if args.as_is:
            result = results[backend, "as-is"]
            print(f"{backend}_messages_per_s: {result.per_s:.0f}")
            print(f"{backend}_sink_cpu_s_per_s: {result.cpu_s / result.seconds:.3f}")
            continue
        before, after = results[backend, "before"], results[backend, "after"]
        print(f"{backend}_messages_per_s_before: {before.per_s:.0f}")
        print(f"{backend}_messages_per_s_after: {after.per_s:.0f}")
        print(f"{backend}_ratio: {after.per_s / before.per_s:.2f}")
        print(f"{backend}_sink_cpu_s_per_s_before: {before.cpu_s / before.seconds:.3f}")
        print(f"{backend}_sink_cpu_s_per_s_after: {after.cpu_s / after.seconds:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
