"""Audit retention (L12): old entries go as a contiguous prefix, the head never does, the chain goes on and the
pruning is itself recorded; what remains still exports and verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from tests.support.clocks import StepClock

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.governance.audit import AuditChain, AuditKeyring, export_audit, verify_export
from vigie.governance.audit.retention import AuditRetention
from vigie.storage import SqlAuditStore

T0 = datetime(2023, 1, 1, tzinfo=UTC)


def fill(store: SqlAuditStore, days: list[int]) -> None:
    for day in days:
        at = T0 + timedelta(days=day)
        store.append(AuditEvent("cli:test", AuditAction.SEARCH, "events", {"day": day}, at), now=at)


def test_prune_deletes_only_an_old_prefix_and_never_the_head(db: Engine) -> None:
    store = SqlAuditStore(db)
    assert store.prune(T0 + timedelta(days=10_000)) == (0, None)
    fill(store, [0, 1, 2, 400, 800])
    count, last = store.prune(T0 + timedelta(days=100))
    assert count == 3 and last is not None and last.seq == 3
    assert [r.seq for r in store.records()] == [4, 5]
    assert next(iter(store.records())).prev_hash == last.hash, "the first remaining entry names the pruned one"
    count, last = store.prune(T0 + timedelta(days=10_000))
    assert count == 1 and [r.seq for r in store.records()] == [5], "the head stays so the chain can go on"


def test_retention_job_records_the_pruning_and_the_rest_still_verifies(db: Engine, tmp_path: Path) -> None:
    store = SqlAuditStore(db)
    keyring = AuditKeyring(tmp_path / "keys")
    chain = AuditChain(store, keyring, checkpoint_every=1000, clock=StepClock())
    fill(store, [0, 1, 1200])
    now = T0 + timedelta(days=1300)
    assert AuditRetention(store, chain, retention_days=1095)(now) == 2
    records = list(store.records())
    assert [r.action for r in records] == ["search", "audit.pruned"]
    assert records[-1].details["entries"] == 2 and records[-1].details["up_to_seq"] == 2
    out = tmp_path / "audit.jsonl"
    export_audit(chain, T0, now + timedelta(days=1), out)
    report = verify_export(out, keyring.public_keys())
    assert report.ok, report.issues
