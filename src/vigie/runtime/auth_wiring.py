"""Building the account service from the configuration: the tenant directory, the sealing key, the clock; and
single sign-on (``auth.oidc``) with the client secret read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from vigie.config.models import VigieConfig
from vigie.domain.clock import Clock, legal_day
from vigie.domain.ports import AuditSink
from vigie.runtime.audit_wiring import keys_dir
from vigie.services.access import CommuneInfo, Directory
from vigie.services.auth import AuthService
from vigie.services.oidc import OidcClient, OidcLogin
from vigie.storage import SqlUserRepo

SEALING_KEY_FILE = "accounts.fernet"
PROVIDER_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
"""Calls to the OpenID provider happen while a person waits at the callback: a provider that does not answer
fails the sign-on in seconds (the person can still log in with a password)."""


class SignOnConfigError(ValueError):
    """Single sign-on is configured but cannot be set up (the secret's variable is missing); no secret inside."""


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


def open_auth_service(config: VigieConfig, engine: Engine, audit: AuditSink, clock: Clock) -> AuthService:
    """Accounts on ``clock``; authorisation and training dates are French calendar days of the same clock."""
    return AuthService(
        SqlUserRepo(engine),
        audit,
        directory(config),
        clock,
        sealing_key=sealing_key(keys_dir(config)),
        today=lambda: legal_day(clock),
    )


def open_sign_on(
    config: VigieConfig, auth: AuthService, clock: Clock, environ: Mapping[str, str] | None = None
) -> OidcLogin | None:
    """Single sign-on as configured in ``auth.oidc``, or None when the section is absent.

    The provider is not contacted here: its discovery document is fetched at the first sign-on (a provider down
    at start must not stop the cameras), then cached."""
    settings = config.auth.oidc
    if settings is None:
        return None
    env = os.environ if environ is None else environ
    secret = env.get(settings.client_secret_env, "")
    if not secret.strip():
        raise SignOnConfigError(
            f"auth.oidc: the environment variable {settings.client_secret_env} (the client secret given by the "
            "identity provider) is not set or empty; set it before starting vigie, or name another variable in "
            "`auth.oidc.client_secret_env`"
        )
    http = httpx.Client(timeout=PROVIDER_TIMEOUT, follow_redirects=False)
    client = OidcClient(settings, client_secret=secret, http=http, clock=clock)
    return OidcLogin(client, auth, clock)
