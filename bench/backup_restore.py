"""Backup and restore of a large audit log on SQLite: how long `vigie backup create` and `vigie backup restore` take,
and how much memory the restore's chain verification needs (it holds the whole chain, as `vigie audit verify` does).

The chain is built directly (sealed entries and a signed checkpoint every 100, as the service writes them, inserted
in bulk) so that a million entries take a minute to prepare instead of an hour of single appends; then the two
commands run as an integrator runs them, in this process, on an injected clock.

    .venv/bin/python bench/backup_restore.py [--entries 1000000]

Last lines: ``name: value``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from vigie.cli import main
from vigie.cli.commands.context import commands_on, opened
from vigie.domain.audit import GENESIS_HASH, AuditAction, AuditEvent, canonical_json, seal
from vigie.governance.audit.chain import CHECKPOINT_TARGET, SYSTEM_ACTOR, checkpoint_payload
from vigie.storage.tables import AuditEntryRow

PASSPHRASE = "a benchmark passphrase of 32 chars"
T0 = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
BATCH = 10_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def node(root: Path) -> Path:
    root.mkdir(parents=True)
    key = root / "data.secrets-key"
    key.write_text(PASSPHRASE + "\n", encoding="utf-8")
    key.chmod(0o600)
    config = root / "vigie.yaml"
    config.write_text(
        f"""version: 1
storage:
  database_url: sqlite:///{root / "vigie.db"}
  data_dir: {root / "data"}
security:
  secrets_key_file: {key}
communes:
  - id: testville
    name: Testville
    kind: municipal
    sites: []
""",
        encoding="utf-8",
    )
    return config


def build_chain(config: Path, clock: Clock, entries: int) -> None:
    """``entries`` access entries (about 300 bytes each, like a playback) with their checkpoints, in bulk."""
    with opened(config, clock) as context:
        chain, engine = context.audit, context.engine
        signer = chain.signer()
        every = chain.checkpoint_every
        prev, seq, rows = GENESIS_HASH, 0, []
        for i in range(entries):
            at = T0 + timedelta(seconds=i)
            event = AuditEvent(
                "user:c.durand", AuditAction.PLAYBACK, f"cam-{i % 650:03d}", {"from": at.isoformat(), "seconds": 60}
            )
            seq += 1
            record = seal(seq, event, at, prev)
            rows.append(record)
            prev = record.hash
            if seq % every == 0:
                payload = checkpoint_payload(record.seq, record.hash, signer.key_id)
                details = {**payload, "signature": signer.sign(payload)}
                checkpoint = AuditEvent(SYSTEM_ACTOR, AuditAction.AUDIT_CHECKPOINT, CHECKPOINT_TARGET, details)
                seq += 1
                record = seal(seq, checkpoint, at, prev)
                rows.append(record)
                prev = record.hash
            if len(rows) >= BATCH:
                _insert(engine, rows)
                rows = []
        _insert(engine, rows)
        clock.now = T0 + timedelta(seconds=entries + 1)


def _insert(engine: object, records: list) -> None:  # type: ignore[type-arg]
    if not records:
        return
    values = [
        {
            "seq": r.seq,
            "at": r.at,
            "actor": r.actor,
            "action": r.action,
            "target": r.target,
            "details": canonical_json(dict(r.details)).decode(),
            "prev_hash": r.prev_hash,
            "hash": r.hash,
        }
        for r in records
    ]
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(insert(AuditEntryRow), values)


def run(*args: str) -> tuple[int, float, str]:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, time.perf_counter() - start, out.getvalue() + err.getvalue()


def main_bench() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    entries = parser.parse_args().entries
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="vigie-bench-backup-") as tmp, commands_on(clock):
        old, new = node(Path(tmp) / "old"), node(Path(tmp) / "new")
        start = time.perf_counter()
        build_chain(old, clock, entries)
        print(f"built {entries} entries (and checkpoints) in {time.perf_counter() - start:.1f} s", flush=True)
        head = Path(tmp) / "head.json"
        code, _, said = run("audit", "head", "--config", str(old), "-o", str(head))
        assert code == 0, said
        backup = Path(tmp) / "backup"
        code, create_s, said = run("backup", "create", "--config", str(old), "-o", str(backup))
        assert code == 0, said
        size = sum(p.stat().st_size for p in backup.rglob("*") if p.is_file())
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        code, restore_s, said = run("backup", "restore", str(backup), "--config", str(new), "--head", str(head))
        assert code == 0, said
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(said.strip())
    print(f"entries: {entries}")
    print(f"backup_mb: {size / 1e6:.0f}")
    print(f"create_s: {create_s:.1f}")
    print(f"restore_and_verify_s: {restore_s:.1f}")
    print(f"restore_peak_rss_growth_mb: {max(0, rss_after - rss_before) / 1024:.0f}")
    print(f"restore_peak_rss_mb: {rss_after / 1024:.0f}")
    print(f"restore_us_per_entry: {restore_s / entries * 1e6:.0f}")
    print(f"restore_rss_bytes_per_entry: {max(0, rss_after - rss_before) * 1024 / entries:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main_bench())
