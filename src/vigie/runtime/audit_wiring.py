"""Building the audit chain from the configuration: one place, used by the service, the workers and the commands."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from vigie.config.models import VigieConfig
from vigie.domain.clock import Clock
from vigie.governance.audit import AuditChain, AuditKeyring
from vigie.storage import SqlAuditStore


def keys_dir(config: VigieConfig) -> Path:
    """Where the audit signing key lives (private key mode 0600; public keys under ``public/``)."""
    return config.storage.data_dir / "keys"


def open_audit_sink(config: VigieConfig, engine: Engine, clock: Clock) -> AuditChain:
    """The hash-chained, checkpoint-signed audit log over the configured database, timed by ``clock``."""
    return AuditChain(
        SqlAuditStore(engine),
        AuditKeyring(keys_dir(config)),
        checkpoint_every=config.governance.checkpoint_every,
        clock=clock,
    )
