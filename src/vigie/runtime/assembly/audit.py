"""Building the audit chain from the configuration: one place, used by the service, the workers and the commands.

The private keys of the data folder are opened here too, with the secrets passphrase read the one way every
``vigie`` process reads it (``security.secrets_key_file``, else the variable ``security.passphrase_env``), so that
the service, ``vigie audit head``, ``vigie login`` and the rest open the same keys the same way."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from vigie.config.models import MIN_SECRETS_PASSPHRASE_LENGTH, VigieConfig
from vigie.domain.clock import Clock
from vigie.governance.audit import AuditChain, AuditKeyError, AuditKeyring
from vigie.governance.audit.head import HeadArchive
from vigie.governance.keys_folder import KeysFolder, KeyStorageError, SecretsPassphrase, file_problem
from vigie.storage import SqlAuditStore

SECRETS_KEY_FILE = "the secrets key file"


def keys_dir(config: VigieConfig) -> Path:
    """Where the private keys live (the folder mode 0700, the files 0600; public keys under ``public/``)."""
    return config.storage.data_dir / "keys"


def heads_file(config: VigieConfig) -> Path:
    """Where signed chain heads are appended for the DPO to archive (``governance.audit_heads_file``)."""
    return config.governance.audit_heads_file or config.storage.data_dir / "audit-heads.jsonl"


def secrets_passphrase(config: VigieConfig, environ: Mapping[str, str] | None = None) -> SecretsPassphrase | None:
    """The passphrase encrypting the private keys at rest, or None when none is given (the keys stay in clear).

    From ``security.secrets_key_file`` when set (its first line; the file must lie outside the data folder and be
    private to this user), else from the environment variable ``security.passphrase_env``; while it is being
    changed, the one it replaces from ``security.previous_passphrase_env``. Surrounding spaces are ignored. Raises
    :class:`KeyStorageError` saying what to fix; a passphrase is never in a message."""
    security = config.security
    env = os.environ if environ is None else environ
    if security.secrets_key_file is not None:
        path = security.secrets_key_file
        value = _read_key_file(path, config.storage.data_dir, fix=security.fix_key_permissions)
        source = f"{SECRETS_KEY_FILE} {path} (security.secrets_key_file)"
        _check_length(value, source)  # an empty key file is a mistake, never "no encryption"
    else:
        value = env.get(security.passphrase_env, "").strip()
        source = f"${security.passphrase_env}"
    previous = env.get(security.previous_passphrase_env, "").strip()
    if not value:
        if previous:
            raise KeyStorageError(
                f"${security.previous_passphrase_env} (the passphrase being replaced) is set but no new passphrase "
                f"is given: set `security.secrets_key_file` or ${security.passphrase_env}"
            )
        return None
    _check_length(value, source)
    if not previous:
        return SecretsPassphrase(value.encode("utf-8"), source)
    old = SecretsPassphrase(previous.encode("utf-8"), f"${security.previous_passphrase_env}")
    return SecretsPassphrase(value.encode("utf-8"), source, previous=old)


def _check_length(value: str, source: str) -> None:
    if len(value) < MIN_SECRETS_PASSPHRASE_LENGTH:
        raise KeyStorageError(
            f"the secrets passphrase given by {source} is shorter than {MIN_SECRETS_PASSPHRASE_LENGTH} characters: "
            "use a longer one (e.g. `openssl rand -base64 32`)"
        )


def _read_key_file(path: Path, data_dir: Path, *, fix: bool) -> str:
    resolved = path.resolve()
    if resolved.is_relative_to(data_dir.resolve()):
        raise KeyStorageError(
            f"security.secrets_key_file {path} is inside the data directory {data_dir}: keep it elsewhere (e.g. "
            "/etc/vigie/secrets.key), whoever copies the data folder must not get it with the keys it opens"
        )
    if not resolved.is_file():
        raise KeyStorageError(
            f"security.secrets_key_file {path} does not exist: create it with a passphrase of at least "
            f"{MIN_SECRETS_PASSPHRASE_LENGTH} characters (e.g. `openssl rand -base64 32 > {path}; chmod 600 {path}`)"
        )
    problem = file_problem(resolved, SECRETS_KEY_FILE, fix=fix)
    if problem:
        raise KeyStorageError(problem)
    try:
        lines = resolved.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise KeyStorageError(f"cannot read {SECRETS_KEY_FILE} {path}: {reason}") from None
    return lines[0].strip() if lines else ""


def keys_folder(config: VigieConfig, environ: Mapping[str, str] | None = None) -> KeysFolder:
    """The keys folder with the configured passphrase and permission policy."""
    return KeysFolder(
        keys_dir(config),
        passphrase=secrets_passphrase(config, environ),
        fix_permissions=config.security.fix_key_permissions,
    )


def audit_keyring(config: VigieConfig, environ: Mapping[str, str] | None = None) -> AuditKeyring:
    """The audit signing key (which also seals activations) as configured: encrypted at rest with the secrets
    passphrase when one is given. The key itself is read at its first use; a passphrase that cannot be read raises
    :class:`AuditKeyError` here."""
    try:
        folder = keys_folder(config, environ)
    except KeyStorageError as err:  # as the key's own errors, for the commands that report those
        raise AuditKeyError(str(err)) from None
    return AuditKeyring(folder.path, passphrase=folder.passphrase, fix_permissions=folder.fix_permissions)


def open_audit_sink(config: VigieConfig, engine: Engine, clock: Clock) -> AuditChain:
    """The hash-chained, checkpoint-signed audit log over the configured database, timed by ``clock``, publishing
    its signed heads to the heads file."""
    return AuditChain(
        SqlAuditStore(engine),
        audit_keyring(config),
        checkpoint_every=config.governance.checkpoint_every,
        clock=clock,
        heads=HeadArchive(heads_file(config)),
        head_every=timedelta(minutes=config.governance.audit_head_every_minutes),
    )
