"""Gate rules pushed, not polled (issue 16): database queries issued by one gate serving 16 cameras, and the delay
from an approval or a revocation committed to the gate seeing it — before (the full snapshot read every 0.25 s)
and after (the governance version checked every 0.25 s, the snapshot read only when it moved; on PostgreSQL also
woken by NOTIFY).

One ``ActivationGate`` in this process, shared by 16 camera threads each calling ``allows`` 12.5 times a second
(random phases), over the real ``SqlGovernanceStore``; the governance service writes with an engine of its own, so
only the gate's statements are counted (SQLAlchemy ``before_cursor_execute`` on the gate's engine; PostgreSQL's
LISTEN connection is outside the pool and not counted, it sends nothing while waiting).

* steady: ``--seconds`` with no change, 16 approved activations in force on 16 other cameras (what a full read
  reads and checks): statements per second.
* changes: ``--cycles`` times, on camera ``k % 16``: an activation approved by the DPO, then the mayor's approval
  (opens it) and 0.3-0.6 s later its revocation (closes it). ``seen`` is from the write's commit (its call
  returned) to the first compiled rules that hold it; ``camera`` to the first ``allows`` of that camera that
  answers the new state (adds up to one frame interval, 80 ms).

    .venv/bin/python bench/gate_push.py                 # SQLite; PostgreSQL too when VIGIE_TEST_POSTGRES_URL is set
    .venv/bin/python bench/gate_push.py --seconds 10 --cycles 20 --postgres postgresql+psycopg://u:p@host/db
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CAMERAS = 16
FPS = 12.5
MODULE = "motion"


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Seen:
    """When the gate's rules and each camera first showed each change (monotonic seconds)."""

    expect: dict[int, tuple[str, bool]] = field(default_factory=dict)
    """activation id -> (camera, open) awaited."""
    rules_at: dict[tuple[int, bool], float] = field(default_factory=dict)
    camera_at: dict[tuple[int, bool], float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Counting:
    """The store seen by the gate, counting snapshot reads and version checks."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.snapshots = 0
        self.versions = 0

    def active_rules(self, at: datetime) -> Any:
        self.snapshots += 1
        return self.store.active_rules(at)

    def governance_version(self) -> int:
        self.versions += 1
        return int(self.store.governance_version())


class Watching:
    """A RulesSource noting when compiled rules first hold each awaited change."""

    def __init__(self, inner: Any, seen: Seen) -> None:
        self.inner = inner
        self.seen = seen

    def rules(self, at: datetime) -> Any:
        rules = self.inner.rules(at)
        tick = time.monotonic()
        with self.seen.lock:
            for activation_id, (camera, opened) in self.seen.expect.items():
                key = (activation_id, opened)
                if key in self.seen.rules_at:
                    continue
                windows = rules.windows.get((MODULE, camera), ())
                holds = any(w.activation_id == activation_id for w in windows) and activation_id not in rules.revoked
                if holds == opened:
                    self.seen.rules_at[key] = tick
        return rules


@contextmanager
def database(kind: str, postgres_url: str, folder: Path) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if kind == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    base = make_url(postgres_url)
    name = f"vigie_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def config_text(cameras: list[str]) -> str:
    from tests.support.activations import _camera, config_text

    head = config_text(now().date()).split("        cameras:\n")[0]
    return head + "        cameras:\n" + "".join(_camera(c, "private_site", now().date()) for c in cameras)


def run_mode(kind: str, url: str, mode: str, seconds: float, cycles: int) -> dict[str, float]:
    from sqlalchemy import event
    from tests.support.activations import make_request
    from tests.support.audit_sinks import ListAudit
    from tests.support.seals import Seals, governance_service

    from vigie.config import load_config_text
    from vigie.domain.actor import Actor
    from vigie.governance.catalogue import load_catalogue
    from vigie.governance.gate import ActivationGate, CheckedRules
    from vigie.storage import SqlGovernanceStore, create_engine_for, migrate
    from vigie.storage.governance import GovernanceNotifications

    cameras = [f"cam-{i:02d}" for i in range(2 * CAMERAS)]  # the first 16 are served, the others not
    config = load_config_text(config_text(cameras), "bench")
    catalogue = load_catalogue()
    seals = Seals()
    writer = create_engine_for(url)
    migrate(writer)
    service = governance_service(SqlGovernanceStore(writer), catalogue, config, ListAudit(), now, seals=seals)
    dpo, mayor = Actor("cli:bob", "dpo"), Actor("cli:carol", "authority")
    for other in cameras[CAMERAS:]:  # activations in force elsewhere: what every full read reads and checks
        start = now()
        request = make_request(start, camera_ids=(other,), starts_at=start, ends_at=start + timedelta(hours=1))
        outcome = service.request(request)
        assert outcome.activation_id is not None, outcome.message
        assert service.approve(outcome.activation_id, dpo).accepted
        assert service.approve(outcome.activation_id, mayor).accepted
    engine = create_engine_for(url)
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_: object) -> None:
        statements[0] += 1

    store = Counting(SqlGovernanceStore(engine))
    versions = store if mode != "before" else None
    seen = Seen()
    rules = Watching(CheckedRules(store, catalogue, config, seals.verifier, versions=versions), seen)
    gate = ActivationGate(rules, now)
    listener = GovernanceNotifications(engine, gate.wake)
    if mode == "after+notify":
        listener.start()
        deadline = time.monotonic() + 10
        while not listener.listening and time.monotonic() < deadline:
            time.sleep(0.01)
    stop = threading.Event()
    answers: dict[str, bool] = dict.fromkeys(cameras[:CAMERAS], False)

    def camera(name: str) -> None:
        tick = time.monotonic() + random.uniform(0, 1 / FPS)
        while not stop.is_set():
            delay = tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            tick += 1 / FPS
            allowed = gate.allows(MODULE, name, now())
            if allowed != answers[name]:
                answers[name] = allowed
                at = time.monotonic()
                with seen.lock:
                    for activation_id, (cam, opened) in seen.expect.items():
                        if cam == name and opened == allowed and (activation_id, opened) not in seen.camera_at:
                            seen.camera_at[(activation_id, opened)] = at

    threads = [threading.Thread(target=camera, args=(c,), daemon=True) for c in cameras[:CAMERAS]]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)  # warm-up: first reads, pools filled
        before = (statements[0], store.snapshots, store.versions, time.monotonic())
        time.sleep(seconds)
        after = (statements[0], store.snapshots, store.versions, time.monotonic())
        elapsed = after[3] - before[3]
        steady = {
            "statements_per_s": (after[0] - before[0]) / elapsed,
            "snapshots_per_s": (after[1] - before[1]) / elapsed,
            "versions_per_s": (after[2] - before[2]) / elapsed,
        }
        committed: dict[tuple[int, bool], float] = {}
        for k in range(cycles):
            cam = cameras[k % CAMERAS]
            start = now()
            starts, ends = start - timedelta(seconds=1), start + timedelta(hours=1)
            outcome = service.request(make_request(start, camera_ids=(cam,), starts_at=starts, ends_at=ends))
            assert outcome.accepted and outcome.activation_id is not None, outcome.message
            activation_id = outcome.activation_id
            assert service.approve(activation_id, dpo).accepted
            time.sleep(random.uniform(0.3, 0.6))
            with seen.lock:
                seen.expect[activation_id] = (cam, True)
            assert service.approve(activation_id, mayor).accepted
            committed[(activation_id, True)] = time.monotonic()
            time.sleep(random.uniform(0.3, 0.6))
            with seen.lock:
                seen.expect[activation_id] = (cam, False)
            assert service.revoke(activation_id, mayor, "bench").accepted
            committed[(activation_id, False)] = time.monotonic()
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(2)
        listener.close()
        engine.dispose()
        writer.dispose()
    result = dict(steady)
    for what, table in (("seen", seen.rules_at), ("camera", seen.camera_at)):
        delays = [1000 * max(0.0, table[key] - at) for key, at in committed.items() if key in table]
        missed = len(committed) - len(delays)
        result[f"{what}_p50_ms"] = statistics.median(delays) if delays else float("nan")
        result[f"{what}_max_ms"] = max(delays) if delays else float("nan")
        result[f"{what}_missed"] = missed
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="steady phase, per mode")
    parser.add_argument("--cycles", type=int, default=12, help="approval + revocation pairs, per mode")
    parser.add_argument("--postgres", default=os.environ.get("VIGIE_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    runs: list[tuple[str, str]] = [("sqlite", "before"), ("sqlite", "after")]
    if args.postgres:
        runs += [("postgres", "before"), ("postgres", "after"), ("postgres", "after+notify")]
    results: dict[tuple[str, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="vigie-gate-") as tmp:
        for kind, mode in runs:
            with database(kind, args.postgres, Path(tmp)) as url:
                r = run_mode(kind, url, mode, args.seconds, args.cycles)
            results[(kind, mode)] = r
            print(
                f"{kind:8} {mode:13} statements/s {r['statements_per_s']:7.1f} (snapshots/s {r['snapshots_per_s']:.2f},"
                f" version checks/s {r['versions_per_s']:.2f}); seen p50 {r['seen_p50_ms']:.0f} ms max"
                f" {r['seen_max_ms']:.0f} ms (missed {r['seen_missed']:.0f}); camera p50 {r['camera_p50_ms']:.0f} ms"
                f" max {r['camera_max_ms']:.0f} ms (missed {r['camera_missed']:.0f})",
                flush=True,
            )
    print(f"# {CAMERAS} cameras x {FPS} allows/s on one gate, {args.seconds:g} s steady, {args.cycles} cycles per mode")
    for (kind, mode), r in results.items():
        tag = f"{kind}_{mode.replace('+', '_')}"
        print(f"{tag}_queries_per_s: {r['statements_per_s']:.1f}")
        print(f"{tag}_seen_p50_ms: {r['seen_p50_ms']:.0f}")
        print(f"{tag}_seen_max_ms: {r['seen_max_ms']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
