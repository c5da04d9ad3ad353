"""Building the account service from the configuration: the tenant directory, the sealing key, the clock."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import Engine

from vigie.config.models import VigieConfig
from vigie.domain.ports import AuditSink
from vigie.governance.catalogue import LEGAL_TIME_ZONE
from vigie.runtime.audit_wiring import keys_dir
from vigie.services.access import CommuneInfo, Directory
from vigie.services.auth import AuthService
from vigie.storage import SqlUserRepo

SEALING_KEY_FILE = "accounts.fernet"


def directory(config: VigieConfig) -> Directory:
    """Tenants and the owner of every camera (enabled or not), from the configuration."""
    return Directory(
        communes=tuple(CommuneInfo(c.id, c.name, c.kind.value, tuple(s.id for s in c.sites)) for c in config.communes),
        camera_commune={p.camera.id: p.commune.id for p in config.placements()},
    )


def sealing_key(keys: Path) -> bytes:
    """The key sealing second-factor secrets at rest, created on first use (mode 0600, beside the audit key).

    Losing it means re-enrolling every second factor; it is never stored in the database."""
    path = keys / SEALING_KEY_FILE
    if path.is_file():
        return path.read_bytes().strip()
    keys.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    os.replace(temp, path)
    return key


def paris_today() -> date:
    """Authorisation and training dates are French calendar days."""
    return datetime.now(LEGAL_TIME_ZONE).date()


def open_auth_service(config: VigieConfig, engine: Engine, audit: AuditSink) -> AuthService:
    return AuthService(
        SqlUserRepo(engine),
        audit,
        directory(config),
        lambda: datetime.now(UTC),
        sealing_key=sealing_key(keys_dir(config)),
        today=paris_today,
    )
