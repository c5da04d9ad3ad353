"""Building the audit chain from the configuration: one place, used by the service, the workers and the commands."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from vigie.config.models import VigieConfig
from vigie.domain.clock import Clock
from vigie.governance.audit import AuditChain, AuditKeyring
from vigie.governance.audit.head import HeadArchive
from vigie.storage import SqlAuditStore


def keys_dir(config: VigieConfig) -> Path:
    """Where the audit signing key lives (private key mode 0600; public keys under ``public/``)."""
    return config.storage.data_dir / "keys"


def heads_file(config: VigieConfig) -> Path:
    """Where signed chain heads are appended for the DPO to archive (``governance.audit_heads_file``)."""
    return config.governance.audit_heads_file or config.storage.data_dir / "audit-heads.jsonl"


def open_audit_sink(config: VigieConfig, engine: Engine, clock: Clock) -> AuditChain:
    """The hash-chained, checkpoint-signed audit log over the configured database, timed by ``clock``, publishing
    its signed heads to the heads file."""
    return AuditChain(
        SqlAuditStore(engine),
        AuditKeyring(keys_dir(config)),
        checkpoint_every=config.governance.checkpoint_every,
        clock=clock,
        heads=HeadArchive(heads_file(config)),
        head_every=timedelta(minutes=config.governance.audit_head_every_minutes),
    )
