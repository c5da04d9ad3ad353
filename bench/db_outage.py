"""Database unwritable for a while, then back: how many segments and audit entries are lost (goal: 0), how long
readiness said "not ready", and how long the service took to write what it kept (issue 15, D9).

The real service runs in this process (``VigieService``, as ``vigie serve`` builds it) on N simulated cameras
reading a video file paced and looped like a live stream (2 s segments). After a warm-up the SQLite database is
made unwritable — immutable (``chattr +i`` on the file and its WAL, as root) or, where that cannot be done, locked
by another connection — for ``--outage`` seconds, during which each camera's analysis worker is killed once (its
gate closes and opens again: audit entries made during the outage). Then the database is given back.

Counted after the stop: segment files on disk started during the outage that the index lacks, and the gate
transitions of the killed workers missing from the audit chain.

    .venv/bin/python bench/db_outage.py                 # 2 cameras, 60 s outage
    .venv/bin/python bench/db_outage.py --cameras 4 --outage 120
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the database refuses writes")
    parser.add_argument("--mode", choices=["immutable", "locked"], default=None)
    args = parser.parse_args()

    from fastapi.testclient import TestClient
    from tests.support.configs import camera_yaml, config_yaml
    from tests.support.db_faults import unwritable_database
    from tests.support.videos import write_moving_square_video
    from tests.support.waiting import wait_for

    from vigie.config import load_config_text
    from vigie.domain.audit import AuditAction
    from vigie.recording.segment_writer import start_from_key
    from vigie.runtime.assembly.service import VigieService
    from vigie.storage import SqlAuditStore, create_engine_for

    with tempfile.TemporaryDirectory(prefix="vigie-db-outage-") as folder:
        tmp = Path(folder)
        video = write_moving_square_video(tmp / "cam.mp4", seconds=20.0)
        ids = [f"cam-{n}" for n in range(1, args.cameras + 1)]
        cameras = "".join(camera_yaml(c, video.as_uri()) for c in ids)
        config = load_config_text(config_yaml(tmp, cameras, storage="  segment_seconds: 2\n"))
        service = VigieService(config, simulated_cameras=frozenset(ids))
        api = TestClient(service.app)
        root = config.storage.data_dir / "segments"
        audit = SqlAuditStore(create_engine_for(config.storage.database_url))
        service.start()
        not_ready_s = 0.0
        killed: list[str] = []
        try:
            wait_for(lambda: all(service.segments.count(camera_id=c) >= 1 for c in ids), 60, "segments of every camera")
            wait_for(
                lambda: len({r.target for r in audit.records() if r.action == AuditAction.GATE_OPENED}) >= len(ids),
                60,
                "motion running on every camera",
            )
            with unwritable_database(tmp / "vigie.db", args.mode) as mode:
                began = service.clock()
                start = time.monotonic()
                deadline = start + args.outage
                kill_at = {c: start + args.outage * (i + 1) / (len(ids) + 1) for i, c in enumerate(ids)}
                while time.monotonic() < deadline:
                    tick = time.monotonic()
                    if api.get("/readyz").status_code != 200:
                        not_ready_s += min(1.0, deadline - tick)
                    for camera, at in kill_at.items():
                        pid = service.supervisor.pids().get(f"analysis:{camera}")
                        if camera not in killed and tick >= at and pid is not None:
                            os.kill(pid, signal.SIGKILL)
                            killed.append(camera)
                    time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
                ended = service.clock()
                kept = len(service.journal)
            back = time.monotonic()
            wait_for(lambda: api.get("/readyz").status_code == 200, 120, "ready again", every=0.1)
            recovery_s = time.monotonic() - back
        finally:
            service.stop()

        def recorded(camera: str) -> list[str]:
            keys = (p.relative_to(root).as_posix() for p in root.glob(f"{camera}/**/*.ts"))
            return [k for k in keys if began < (start_from_key(k) or began) < ended]

        during = [k for c in ids for k in recorded(c)]
        lost_segments = [k for k in during if service.segments.by_key(k) is None]
        records = list(audit.records())

        def transitions(action: AuditAction, camera: str) -> int:
            return sum(1 for r in records if r.action == action and r.target.endswith(f"@{camera}") and in_outage(r.at))

        def in_outage(at: datetime) -> bool:
            return began - timedelta(seconds=1) <= at <= ended + timedelta(seconds=1)

        lost_audit = sum(
            max(0, 1 - transitions(AuditAction.GATE_CLOSED, c)) + max(0, 1 - transitions(AuditAction.GATE_OPENED, c))
            for c in killed
        )
        chain_ok = all(r.is_consistent() for r in records) and all(
            b.prev_hash == a.hash for a, b in itertools.pairwise(records)
        )
        print(f"mode: {mode}; cameras: {len(ids)}; outage: {args.outage:.0f} s; workers killed: {len(killed)}")
        print(f"writes kept in the journal at the end of the outage: {kept}")
        print(f"segments_recorded_during_outage: {len(during)}")
        print(f"segments_lost: {len(lost_segments)}")
        print(f"audit_entries_expected: {2 * len(killed)}")
        print(f"audit_entries_lost: {lost_audit}")
        print(f"audit_chain_intact: {chain_ok}")
        print(f"not_ready_during_outage_s: {not_ready_s:.0f} of {args.outage:.0f}")
        print(f"ready_again_after_s: {recovery_s:.1f}")
        return 0 if not lost_segments and not lost_audit and chain_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
