"""Building the account service from the configuration: the tenant directory, the sealing key (encrypted at rest
with the secrets passphrase, :mod:`vigie.runtime.assembly.audit`), the clock; and single sign-on (``auth.oidc``) with
the client secret read from the environment."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Final

import httpx
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine

from vigie.config.models import VigieConfig
from vigie.domain.clock import Clock, legal_day
from vigie.domain.ports import AuditSink
from vigie.domain.sign_on import PendingSignOns
from vigie.governance.keys_folder import (
    KeysFolder,
    KeyStorageError,
    SealedSecretError,
    SecretsPassphrase,
    WrongPassphraseError,
    is_sealed,
    open_sealed,
    seal_secret,
)
from vigie.runtime.assembly.audit import keys_folder
from vigie.services.access import CommuneInfo, Directory
from vigie.services.auth import AuthService
from vigie.services.login_throttle import LoginAttempts
from vigie.services.oidc import OidcClient, OidcLogin
from vigie.storage import SqlUserRepo
from vigie.storage.login_failures import SqlNameFailures

log = logging.getLogger(__name__)
SEALING_KEY_FILE = "accounts.fernet"
ACCOUNTS_KEY = "the accounts key"
LOGIN_NAMES = "login-throttle-names"
"""The purpose the key hashing the names of failed logins is derived for (:func:`shared_key`)."""
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


def sealing_key(keys: KeysFolder) -> bytes:
    """The key sealing second-factor secrets at rest, created on first use (mode 0600, beside the audit key).

    With a secrets passphrase it is stored sealed under it (:func:`~vigie.governance.keys_folder.seal_secret`), and a
    key found in clear is sealed in place; without one it is stored in clear, with a warning. Losing it means
    re-enrolling every second factor; it is never stored in the database."""
    path = keys.path / SEALING_KEY_FILE
    passphrase = keys.passphrase
    data = keys.read_private(SEALING_KEY_FILE, ACCOUNTS_KEY)
    if data is None:
        key = Fernet.generate_key()
        stored = key if passphrase is None else seal_secret(key, passphrase)
        if not keys.write_private(SEALING_KEY_FILE, stored, replace=False):
            return sealing_key(keys)  # another process created it meanwhile: use theirs
        if passphrase is None:
            keys.warn_unencrypted(path, ACCOUNTS_KEY)
        return key
    if is_sealed(data):
        if passphrase is None:
            raise keys.missing_passphrase(path, ACCOUNTS_KEY)
        return _unseal(keys, data, passphrase)
    key = data.strip()
    try:
        Fernet(key)
    except ValueError:
        raise KeyStorageError(f"{ACCOUNTS_KEY} {path} is not a key Vigie wrote: restore it from a backup") from None
    if passphrase is None:
        keys.warn_unencrypted(path, ACCOUNTS_KEY)
    else:
        _reseal(keys, key, passphrase, f"was stored unencrypted: sealed now with {passphrase.source}")
    return key


def _unseal(keys: KeysFolder, data: bytes, passphrase: SecretsPassphrase) -> bytes:
    """The sealed accounts key, opened with the passphrase, or with the previous one (then sealed again)."""
    path = keys.path / SEALING_KEY_FILE
    for candidate in (passphrase, passphrase.previous):
        if candidate is None:
            continue
        try:
            key = open_sealed(data, candidate)
        except WrongPassphraseError:
            continue
        except SealedSecretError as err:
            raise KeyStorageError(f"{ACCOUNTS_KEY} {path} is damaged ({err}): restore it from a backup") from None
        if candidate is not passphrase:
            done = f"was sealed with the previous passphrase ({candidate.source}): sealed now with {passphrase.source}"
            _reseal(keys, key, passphrase, done)
        return key
    raise keys.wrong_passphrase(path, ACCOUNTS_KEY)


def _reseal(keys: KeysFolder, key: bytes, passphrase: SecretsPassphrase, done: str) -> None:
    path = keys.path / SEALING_KEY_FILE
    try:
        keys.write_private(SEALING_KEY_FILE, seal_secret(key, passphrase), replace=True)
    except OSError as err:  # a read-only data folder: use the key, say it stays as it is
        log.warning("%s %s cannot be sealed again now: %s", ACCOUNTS_KEY, path, err.strerror)
    else:
        log.warning("%s %s %s", ACCOUNTS_KEY, path, done)


def open_auth_service(config: VigieConfig, engine: Engine, audit: AuditSink, clock: Clock) -> AuthService:
    """Accounts on ``clock``; authorisation and training dates are French calendar days of the same clock. Failed
    logins with unknown names are counted in the database under a key derived from the keys folder: every API
    process throttles them alike (issue 17)."""
    key = sealing_key(keys_folder(config))
    names = LoginAttempts(key=_derive(key, LOGIN_NAMES), shared=SqlNameFailures(engine))
    return AuthService(
        SqlUserRepo(engine),
        audit,
        directory(config),
        clock,
        sealing_key=key,
        today=lambda: legal_day(clock),
        attempts=names,
    )


def open_sign_on(
    config: VigieConfig,
    auth: AuthService,
    clock: Clock,
    environ: Mapping[str, str] | None = None,
    *,
    pending: PendingSignOns | None = None,
) -> OidcLogin | None:
    """Single sign-on as configured in ``auth.oidc``, or None when the section is absent. ``pending``: where
    sign-ons wait for the provider's answer (the service gives the database's table, so that any API process may
    receive it).

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
    return OidcLogin(client, auth, clock, pending)


def shared_key(config: VigieConfig, purpose: str) -> bytes:
    """A 32-byte key for ``purpose`` that every process of the installation derives alike (HKDF-SHA256 over the
    accounts key of the keys folder, the purpose as ``info``): what one API process signs (a playback URL),
    another checks, with nothing stored or sent between them. Processes must share the keys folder and the secrets
    passphrase; the key is never logged nor stored."""
    return _derive(sealing_key(keys_folder(config)), purpose)


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"vigie:{purpose}".encode()).derive(master)
