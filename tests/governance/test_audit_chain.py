"""The audit chain service, on a real chain: SqlAuditStore on a SQLite file, a keyring in a temp dir, a fake clock
(the rig is in ``tests.support.audit_rig``, shared by the other ``test_audit_*`` modules)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.audit_rig import AuditRig, fill, make_rig
from tests.support.clocks import StepClock
from vigie.domain.audit import GENESIS_HASH, AuditAction
from vigie.governance.audit import AuditChain
from vigie.governance.audit.chain import checkpoint_payload
from vigie.governance.audit.signing import load_public_key, verify_signature


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
