"""The ``vigie backup`` commands (:mod:`vigie.services.backup`). Each returns an exit status:

- ``create``: 0 written; 1 it could not be written; 2 the configuration or database is unusable.
- ``restore``: 0 restored, the chain verified and complete (or its loss accepted), recorded as ``backup.restored``;
  1 refused: the backup was changed or its chain does not verify; 2 nothing changed (unusable configuration,
  database that holds data, a head that cannot be read); 3 restored but older than the last published head: the
  missing entries are said, and ``vigie serve`` refuses to start until the operator decides (docs/backup.md).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from vigie.cli.commands.audit import cli_actor
from vigie.cli.commands.context import Unusable, command_clock, opened
from vigie.config import ConfigError, format_issues, load_config
from vigie.config.models import VigieConfig
from vigie.governance.audit import AuditKeyError, HeadError, key_id_of, load_public_key, read_heads
from vigie.governance.audit.head import HeadArchive, head_signature_ok
from vigie.governance.keys_folder import HOW_TO_GIVE, KeyStorageError
from vigie.runtime.assembly.audit import heads_file, keys_dir, open_audit_sink, secrets_passphrase
from vigie.services.backup import (
    BackupError,
    BackupRefused,
    CheckedBackup,
    Installation,
    RestoreOutcome,
    check_backup,
    create_backup,
    encrypted_keys,
    mark_pending,
    refuse_used_keys,
    restore_files,
    settle,
)
from vigie.services.restored_chain import RestoredChainChanged, verify_restored
from vigie.storage import StorageError, create_engine_for, migrate
from vigie.storage.database_copy import DatabaseCopier

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNCHANGED = 2
EXIT_MISSING = 3


def installation(config: VigieConfig, config_path: Path) -> Installation:
    return Installation(config_path, keys_dir(config), heads_file(config), config.storage.data_dir)


def create_command(config_path: Path, out: Path) -> int:
    """Back up the installation of ``config_path`` into the folder ``out``."""
    try:
        with opened(config_path) as context:
            where = installation(context.config, config_path)
            summary = create_backup(context.audit, DatabaseCopier(context.engine), where, out, actor=cli_actor())
            passphrase = _passphrase_source(context.config)
    except Unusable as err:
        return _fail(f"vigie: {err}; nothing was written", EXIT_UNCHANGED)
    except (BackupError, StorageError, AuditKeyError) as err:
        return _fail(f"vigie backup create: {err}")
    head = summary.audit_head
    print(
        f"wrote {summary.files} files ({summary.bytes / 1e6:.1f} MB) to {out}: the {summary.database_kind} database, "
        f"the keys folder, the configuration and the published heads; manifest sha256 {summary.manifest_sha256}"
    )
    print(f"audit chain up to at least seq {head['seq']} (head {head['hash']})" if head else "the audit log is empty")
    print(f"NOT in it: the secrets passphrase ({passphrase}), kept apart: store it elsewhere than this backup")
    print("NOT in it: the recordings (segments), on S3 or the recording disk; see docs/backup.md")
    return EXIT_OK


@dataclass(frozen=True, slots=True)
class RestoreRequest:
    folder: Path
    config_path: Path
    heads: list[Path]
    pubkeys: list[Path]
    replace: bool
    accept_missing: bool


def restore_command(request: RestoreRequest) -> int:
    """Restore the backup of ``request.folder`` onto the node of ``request.config_path`` (see the module)."""
    try:
        backup = check_backup(request.folder)
    except BackupRefused as err:
        return _fail(f"vigie backup restore: REFUSED: {err}; nothing was changed")
    try:
        given = [head for path in request.heads for head in read_heads(path)]
        extra_keys = _public_keys(request.pubkeys)
        _check_heads(given, {**backup.public_keys(), **extra_keys})
    except (HeadError, ValueError) as err:
        return _fail(f"vigie backup restore: {err}; nothing was changed", EXIT_UNCHANGED)
    if not request.config_path.exists():
        try:
            request.config_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(backup.config_file, request.config_path)
            request.config_path.chmod(0o600)
        except OSError as err:
            return _fail(f"vigie backup restore: cannot write {request.config_path}: {err.strerror or err}", 2)
        print(f"wrote the backup's configuration to {request.config_path}")
    try:
        config = load_config(request.config_path)
    except ConfigError as err:
        print(format_issues(err.issues), file=sys.stderr)
        return _fail("vigie: the configuration is invalid; nothing was changed", EXIT_UNCHANGED)
    try:
        engine = create_engine_for(config.storage.database_url)
    except StorageError as err:
        return _fail(f"vigie: {err}; nothing was changed", EXIT_UNCHANGED)
    try:
        return _restore(config, engine, backup=backup, request=request, given=given, extra_keys=extra_keys)
    finally:
        engine.dispose()


def _restore(
    config: VigieConfig,
    engine: Engine,
    *,
    backup: CheckedBackup,
    request: RestoreRequest,
    given: list[dict[str, Any]],
    extra_keys: dict[str, str],
) -> int:
    """Not migrated before: the backup's schema is put back as it was, then brought up to this version."""
    where = installation(config, request.config_path)
    copier = DatabaseCopier(engine)
    try:  # what can be checked before anything changes
        if encrypted_keys(backup) and secrets_passphrase(config) is None:
            raise BackupError(f"the backup's private keys are encrypted and no passphrase is given: {HOW_TO_GIVE}")
        if copier.holds_data() and not request.replace:
            raise BackupError(
                f"the database {copier.describe()} holds data: this is not a fresh node. Restore with --replace to "
                "replace it with the backup's"
            )
        refuse_used_keys(where, replace=request.replace)
    except (BackupError, StorageError, KeyStorageError) as err:
        return _fail(f"vigie backup restore: {err}; nothing was changed", EXIT_UNCHANGED)
    try:
        restore_files(backup, where, replace=request.replace)
        copier.restore(backup.database_copy, backup.database_kind)
        migrate(engine)  # a backup of an earlier version: its schema brought up to this one
        chain = open_audit_sink(config, engine, command_clock())
        heads = _heads_to_check(given, where, backup)
        verdict = verify_restored(chain, heads, extra_keys)
        outcome = settle(
            chain,
            backup,
            verdict,
            where,
            actor=cli_actor(),
            database=copier.describe(),
            accept_missing=request.accept_missing,
        )
    except (BackupError, StorageError, KeyStorageError, RestoredChainChanged, OSError) as err:
        # AuditKeyError is a KeyStorageError. Part of the backup is in place: the service must not start on it.
        marker = mark_pending(
            where.data_dir, f"a restore stopped half-way: {err}", {"backup": str(backup.folder), "problems": [str(err)]}
        )
        return _fail(
            f"vigie backup restore: {err}\nthe restore stopped half-way; the service will not start on it ({marker}): "
            "fix what is said and restore again with --replace"
        )
    return _report(outcome, copier.describe())


def _heads_to_check(given: list[dict[str, Any]], where: Installation, backup: CheckedBackup) -> list[dict[str, Any]]:
    """The heads given, the latest of the node's heads file (the backup's, on a fresh node) and the latest of the
    backup's own heads file, each once."""
    heads = list(given)
    for archive in (HeadArchive(where.heads_file), HeadArchive(backup.folder / "audit-heads.jsonl")):
        latest = archive.latest()
        if latest is not None:
            heads.append(latest)
    unique: dict[tuple[int, str, str], dict[str, Any]] = {}
    for head in heads:
        unique.setdefault((head["seq"], head["hash"], head["signature"]), head)
    return list(unique.values())


def _report(outcome: RestoreOutcome, database: str) -> int:
    verdict = outcome.verdict
    if not verdict.intact:
        print(
            f"REFUSED: the restored audit chain of {database} does not verify: the backup was changed", file=sys.stderr
        )
        for problem in verdict.problems:
            print(f"  {problem}", file=sys.stderr)
        print(
            f"the service will not start on it ({outcome.marker}): restore another backup with --replace",
            file=sys.stderr,
        )
        return EXIT_FAILED
    span = f"{verdict.entries} audit entries up to seq {verdict.last_seq}" if verdict.last_seq else "an empty log"
    checked = f"{verdict.heads_matched} published head(s) matched"
    if verdict.missing is not None and not outcome.recorded:
        bar = "!" * 78
        print(bar, file=sys.stderr)
        print(f"RESTORED {database} ({span}, {checked}), BUT IT IS INCOMPLETE:", file=sys.stderr)
        print(f"  {verdict.missing.describe()}.", file=sys.stderr)
        print(f"The service will not start on it ({outcome.marker}). Either:", file=sys.stderr)
        print("  - restore a newer backup (the same command, on it, with --replace), or", file=sys.stderr)
        print(
            "  - if there is none, accept the loss: the same command with --replace --accept-missing, which records "
            "it in the audit log (backup.restored with the missing seqs) for the DPO and the auditors.",
            file=sys.stderr,
        )
        print(bar, file=sys.stderr)
        return EXIT_MISSING
    print(f"restored {database}: {span}, verified; {checked}")
    if verdict.missing is not None:
        print(f"ACCEPTED and recorded in the audit log: {verdict.missing.describe()}")
    print("recorded as backup.restored; the service may start (`vigie serve --config FILE`)")
    return EXIT_OK


def _check_heads(heads: list[dict[str, Any]], keys: dict[str, str]) -> None:
    """Each head given must verify with an audit key of the backup or given with --pubkey: checked before anything
    changes (a head of another installation, or of a key rotated in after the backup, is said as such)."""
    loaded = {key_id: load_public_key(pem) for key_id, pem in keys.items()}
    for head in heads:
        verified = head_signature_ok(head, loaded)
        if verified is None:
            raise ValueError(
                f"the head of seq {head['seq']} is signed by key {head['key_id']}, which the backup does not hold: if "
                "it was rotated in after the backup, give its public key with --pubkey (`vigie audit keys`); "
                "otherwise the head is another installation's"
            )
        if not verified:
            raise ValueError(f"the head of seq {head['seq']} does not verify with key {head['key_id']}: not a head")


def _public_keys(paths: list[Path]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for path in paths:
        for file in sorted(path.glob("*.pem")) if path.is_dir() else [path]:
            try:
                pem = file.read_text(encoding="ascii")
                keys[key_id_of(load_public_key(pem))] = pem
            except (OSError, UnicodeDecodeError, AuditKeyError) as err:
                raise ValueError(f"cannot use public key {file}: {err}") from None
    return keys


def _passphrase_source(config: VigieConfig) -> str:
    security = config.security
    if security.secrets_key_file is not None:
        return f"security.secrets_key_file {security.secrets_key_file}"
    return f"${security.passphrase_env}, if set"


def _fail(message: str, status: int = EXIT_FAILED) -> int:
    print(message, file=sys.stderr)
    return status
