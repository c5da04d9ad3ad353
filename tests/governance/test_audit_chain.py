"""The audit chain service, on a real chain: SqlAuditStore on a SQLite file, a keyring in a temp dir, a fake clock.

The helpers here (``make_rig``, ``fill``) are shared by the other ``test_audit_*`` modules.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from vigie.domain.audit import GENESIS_HASH, AuditAction, AuditEvent
from vigie.governance.audit import AuditChain, AuditKeyring
from vigie.governance.audit.chain import checkpoint_payload
from vigie.governance.audit.signing import load_public_key, verify_signature
from vigie.storage import SqlAuditStore, create_engine_for, migrate

T0 = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)


class StepClock:
    """Each call is one second after the previous one."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class AuditRig:
    engine: Engine
    store: SqlAuditStore
    keyring: AuditKeyring
    chain: AuditChain
    clock: StepClock
    keys_dir: Path


def make_rig(tmp: Path, checkpoint_every: int = 7) -> Iterator[AuditRig]:
    engine = create_engine_for(f"sqlite:///{tmp / 'audit.db'}")
    migrate(engine)
    store = SqlAuditStore(engine)
    keyring = AuditKeyring(tmp / "keys")
    clock = StepClock()
    chain = AuditChain(store, keyring, checkpoint_every=checkpoint_every, clock=clock)
    try:
        yield AuditRig(engine, store, keyring, chain, clock, tmp / "keys")
    finally:
        engine.dispose()


def fill(chain: AuditChain, count: int, start: int = 0) -> None:
    actions = [AuditAction.LIVE_VIEWED, AuditAction.PLAYBACK, AuditAction.SEARCH, AuditAction.ALERT_VERDICT]
    for n in range(start, start + count):
        details = {"n": n, "reason": f"réquisition {n}", "score": n / 7, "cams": [f"cam-{n % 5}"]}
        chain.append(AuditEvent(f"user:{n % 3}", actions[n % len(actions)], f"camera:cam-{n % 5}", details))


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[AuditRig]:
    yield from make_rig(tmp_path)


def test_chain_appends_and_checkpoints_every_n(rig: AuditRig) -> None:
    fill(rig.chain, 20)
    records = list(rig.store.records())
    checkpoints = [r for r in records if r.action == AuditAction.AUDIT_CHECKPOINT]
    assert [c.details["covers_seq"] for c in checkpoints] == [7, 14, 21]
    assert len(records) == 23
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    signer = rig.keyring.current_signer()
    public = load_public_key(rig.store.public_keys()[signer.key_id])
    for checkpoint in checkpoints:
        covered = records[checkpoint.details["covers_seq"] - 1]
        assert checkpoint.actor == "system:audit"
        assert checkpoint.details["covers_hash"] == covered.hash
        payload = checkpoint_payload(covered.seq, covered.hash, signer.key_id)
        assert verify_signature(public, payload, checkpoint.details["signature"])


def test_checkpoint_on_demand_signs_the_head_once(rig: AuditRig) -> None:
    assert rig.chain.checkpoint() is None
    fill(rig.chain, 3)
    first = rig.chain.checkpoint()
    assert first is not None and first.details["covers_seq"] == 3
    assert rig.chain.checkpoint() == first
    assert rig.store.count() == 4


def test_rotation_records_both_keys_and_keeps_old_public_key(rig: AuditRig) -> None:
    fill(rig.chain, 2)
    old = rig.keyring.load_or_create()
    rotation = rig.chain.rotate_key()
    new = rig.keyring.load_or_create()
    assert new != old
    assert rotation.action == AuditAction.AUDIT_KEY_ROTATED
    assert rotation.details["old_key_id"] == old and rotation.details["new_key_id"] == new
    assert rotation.details["new_public_key_pem"] == rig.store.public_keys()[new]
    assert set(rig.store.public_keys()) == {old, new}
    assert set(rig.keyring.public_keys()) == {old, new}
    private_files = sorted(p.name for p in rig.keys_dir.rglob("*") if p.is_file() and "PRIVATE" in p.read_text())
    assert private_files == ["signing-key.pem"]


def test_checkpoint_every_must_be_positive(rig: AuditRig) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        AuditChain(rig.store, rig.keyring, checkpoint_every=0, clock=StepClock())
