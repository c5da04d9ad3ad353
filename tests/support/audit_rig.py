"""A real audit chain for the ``test_audit_*`` modules: SqlAuditStore on a SQLite file, a keyring in a temporary
folder, a clock that moves one second per reading from :data:`T0`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from tests.support.clocks import T0, StepClock
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.governance.audit import AuditChain, AuditKeyring
from vigie.storage import SqlAuditStore, create_engine_for, migrate

__all__ = ["T0", "AuditRig", "fill", "make_rig"]


@dataclass
class AuditRig:
    engine: Engine
    store: SqlAuditStore
    keyring: AuditKeyring
    chain: AuditChain
    clock: StepClock
    keys_dir: Path


def make_rig(tmp: Path, checkpoint_every: int = 7) -> Iterator[AuditRig]:
    """Yields the rig (use with ``yield from`` in a fixture); the engine is disposed of afterwards."""
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
    """Append ``count`` varied events (actors, actions, targets, details with accents and floats)."""
    actions = [AuditAction.LIVE_VIEWED, AuditAction.PLAYBACK, AuditAction.SEARCH, AuditAction.ALERT_VERDICT]
    for n in range(start, start + count):
        details = {"n": n, "reason": f"réquisition {n}", "score": n / 7, "cams": [f"cam-{n % 5}"]}
        chain.append(AuditEvent(f"user:{n % 3}", actions[n % len(actions)], f"camera:cam-{n % 5}", details))
