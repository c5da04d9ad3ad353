"""Backup and restore of an installation (issue 17): the database, the keys folder, the configuration and the
published heads, in one folder whose manifest names the SHA-256 of every file and is signed by the audit key.

What a backup does **not** hold, on purpose: the secrets passphrase (``security.secrets_key_file``, e.g.
``<data_dir>.secrets-key``), which opens the private keys it holds — kept apart, whoever gets the backup must not
get what opens it; and the recordings (segments), which live on S3 or the recording disk and have their own
retention (L3): a backup of 30 days of video is a second copy to purge.

A restore refuses a backup whose files do not match its manifest, or whose manifest's signature does not verify,
before it changes anything; refuses a target database that holds data, unless told to replace it; and after
restoring, verifies the restored audit chain (every hash, link and checkpoint signature) and checks it against the
last heads published outside the server, which the operator gives. A backup older than such a head lacks the
entries after it: the restore says how many and from which ``seq``, and leaves the data folder marked
(:data:`PENDING_FILE`) so that ``vigie serve`` refuses to start until the operator restores a newer backup or
accepts the loss, which is then recorded in the chain (``backup.restored`` with ``missing``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from vigie import __version__
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.governance.audit import AuditChain, AuditKeyError, key_id_of, load_public_key
from vigie.governance.audit.signing import ENCRYPTED_PEM, PRIVATE_KEY_FILE, PUBLIC_DIR, verify_signature
from vigie.services.restored_chain import RestoredChain

MANIFEST: Final = "manifest.json"
MANIFEST_FORMAT: Final = "vigie-backup"
MANIFEST_VERSION: Final = 1
DATABASE_DIR: Final = "database"
KEYS_DIR: Final = "keys"
CONFIG_DIR: Final = "config"
HEADS: Final = "audit-heads.jsonl"
PENDING_FILE: Final = "restore-pending.json"
"""In the data folder while a restore is not settled (entries missing, or the backup refused after the database
was replaced): ``vigie serve`` refuses to start while it is there."""
_CHUNK: Final = 1 << 20


class BackupError(Exception):
    """The backup cannot be made, or cannot be restored as asked; the message says what to do. Nothing secret."""


class BackupRefused(BackupError):
    """The backup is damaged or was changed (a file, the manifest, its signature): it is not restored."""


class DatabaseCopier(Protocol):
    """The database side (``vigie.storage.database_copy.DatabaseCopier``)."""

    @property
    def kind(self) -> str:
        """``sqlite`` or ``postgresql``."""
        ...

    def describe(self) -> str:
        """The database's URL, credentials redacted."""
        ...

    def copy(self, folder: Path) -> Path:
        """Write a consistent copy of the database into ``folder``; return its file."""
        ...

    def restore(self, copy: Path, kind: str) -> None: ...

    def holds_data(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Installation:
    """Where one installation keeps what a backup holds, as its configuration says."""

    config_file: Path
    keys_dir: Path
    heads_file: Path
    data_dir: Path


@dataclass(frozen=True, slots=True)
class BackupSummary:
    folder: Path
    manifest_sha256: str
    files: int
    bytes: int
    database_kind: str
    audit_head: Mapping[str, Any] | None


def create_backup(
    chain: AuditChain, database: DatabaseCopier, where: Installation, out: Path, *, actor: str
) -> BackupSummary:
    """Write a backup of the installation to the new (or empty) folder ``out`` and record ``backup.created``.

    The chain's head is signed and published first, then the heads file and the keys are copied, then the database
    (so every head in the backup is in its database); the manifest, signed last, covers every file."""
    _prepare_output(out)
    try:
        return _write_backup(chain, database, where, out, actor=actor)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # no half backup left to be mistaken for one
        raise


def _write_backup(
    chain: AuditChain, database: DatabaseCopier, where: Installation, out: Path, *, actor: str
) -> BackupSummary:
    head = chain.publish_head()
    try:
        if where.heads_file.is_file():
            shutil.copy2(where.heads_file, out / HEADS)
        (out / CONFIG_DIR).mkdir(mode=0o700)
        shutil.copy2(where.config_file, out / CONFIG_DIR / where.config_file.name)
        if where.keys_dir.is_dir():
            shutil.copytree(where.keys_dir, out / KEYS_DIR, ignore=shutil.ignore_patterns(".*"))
        (out / DATABASE_DIR).mkdir(mode=0o700)
        database.copy(out / DATABASE_DIR)
    except OSError as err:
        raise BackupError(f"cannot write the backup in {out}: {err.strerror or err}") from None
    kind = database.kind
    signer = chain.signer()
    files = _hash_files(out)
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "created_at": format_time(chain.clock()),
        "vigie_version": __version__,
        "database": {"kind": kind, "source": database.describe()},
        "config": f"{CONFIG_DIR}/{where.config_file.name}",
        "audit_head": _head_summary(head),
        "files": files,
        "key_id": signer.key_id,
    }
    manifest["signature"] = signer.sign(manifest)
    data = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    (out / MANIFEST).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    size = sum((out / name).stat().st_size for name in files)
    details = {
        "manifest_sha256": digest,
        "database": {"kind": kind, "source": database.describe()},
        "files": len(files),
        "bytes": size,
        "audit_head": _head_summary(head),
        "includes_passphrase": False,
    }
    chain.append(AuditEvent(actor, AuditAction.BACKUP_CREATED, out.name, details))
    return BackupSummary(out, digest, len(files), size, kind, _head_summary(head))


def _prepare_output(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out} exists and is not an empty folder: give a new folder for the backup")
    try:
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
        out.chmod(0o700)  # it holds the (encrypted) private keys and the configuration
    except OSError as err:
        raise BackupError(f"cannot create the backup folder {out}: {err.strerror or err}") from None


def _head_summary(head: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if head is None else {k: head[k] for k in ("seq", "hash", "at", "key_id")}


def _hash_files(folder: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name != MANIFEST:
            files[name] = _sha256(path)
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- checking a backup ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedBackup:
    """A backup whose every file matches its signed manifest."""

    folder: Path
    manifest: Mapping[str, Any]
    manifest_sha256: str

    @property
    def database_kind(self) -> str:
        return str(self.manifest["database"]["kind"])

    @property
    def database_copy(self) -> Path:
        name = next(str(n) for n in self.manifest["files"] if str(n).startswith(f"{DATABASE_DIR}/"))
        return self.folder / name

    @property
    def config_file(self) -> Path:
        return self.folder / str(self.manifest["config"])

    def public_keys(self) -> dict[str, str]:
        """PEM by key id of every public key in the backup's keys folder."""
        keys: dict[str, str] = {}
        for path in sorted((self.folder / KEYS_DIR / PUBLIC_DIR).glob("*.pem")):
            try:
                pem = path.read_text(encoding="ascii")
                keys[key_id_of(load_public_key(pem))] = pem
            except (OSError, UnicodeDecodeError, AuditKeyError):
                continue  # a damaged file is caught by the manifest; this one is simply not a key
        return keys


def check_backup(folder: Path) -> CheckedBackup:
    """The backup in ``folder`` if every file is there with the SHA-256 of its manifest, nothing was added, and the
    manifest's signature verifies with the audit key it names (in the backup); else :class:`BackupRefused`
    listing what differs."""
    path = folder / MANIFEST
    try:
        data = path.read_bytes()
        manifest = json.loads(data)
    except FileNotFoundError:
        raise BackupRefused(f"{folder} is not a Vigie backup: it has no {MANIFEST}") from None
    except (OSError, ValueError) as err:
        raise BackupRefused(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    problem = _manifest_problem(manifest)
    if problem is not None:
        raise BackupRefused(f"{path} is not a Vigie backup manifest: {problem}")
    listed: dict[str, str] = manifest["files"]
    problems = []
    for name, expected in sorted(listed.items()):
        file = folder / name
        if not file.is_file():
            problems.append(f"{name} is missing")
        elif _sha256(file) != expected:
            problems.append(f"{name} was changed (its SHA-256 is not the manifest's)")
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {MANIFEST}
    problems += [f"{name} was added (not in the manifest)" for name in sorted(present - set(listed))]
    checked = CheckedBackup(folder, manifest, hashlib.sha256(data).hexdigest())
    pem = checked.public_keys().get(str(manifest["key_id"]))
    payload = {k: v for k, v in manifest.items() if k != "signature"}
    if pem is None:
        problems.append(f"the manifest is signed by key {manifest['key_id']}, whose public key is not in the backup")
    elif not verify_signature(load_public_key(pem), payload, str(manifest["signature"])):
        problems.append(f"the manifest's signature does not verify with key {manifest['key_id']}: it was changed")
    if problems:
        raise BackupRefused(f"the backup {folder} was changed or is damaged: " + "; ".join(problems))
    return checked


def _manifest_problem(manifest: Any) -> str | None:  # noqa: PLR0911 - one return per rule
    if not isinstance(manifest, dict):
        return "not a JSON object"
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("version") != MANIFEST_VERSION:
        return f"not a {MANIFEST_FORMAT} version {MANIFEST_VERSION}"
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        return "files must map names to SHA-256"
    if any(Path(name).is_absolute() or ".." in Path(name).parts for name in files):
        return "a file name leaves the backup folder"
    if sum(1 for name in files if name.startswith(f"{DATABASE_DIR}/")) != 1:
        return f"it must list exactly one file under {DATABASE_DIR}/"
    database = manifest.get("database")
    if not isinstance(database, dict) or database.get("kind") not in ("sqlite", "postgresql"):
        return "database.kind must be sqlite or postgresql"
    if not isinstance(manifest.get("config"), str) or manifest["config"] not in files:
        return "config must name a file of the backup"
    if not isinstance(manifest.get("key_id"), str) or not isinstance(manifest.get("signature"), str):
        return "key_id and signature must be strings"
    return None


# --- the restore marker ---------------------------------------------------------------------------------------


def pending_restore(data_dir: Path) -> str | None:
    """Why the service must not start on this data folder (a restore not settled), or None."""
    path = data_dir / PENDING_FILE
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
        said, missing_only = str(marker["message"]), not marker["problems"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        said, missing_only = "a restore was left unfinished", False
    restore = "`vigie backup restore BACKUP --config FILE --head HEAD --replace`"
    if not missing_only:
        return f"{said} (marked in {path}). Restore another backup ({restore}); see docs/backup.md"
    return (
        f"{said} (marked in {path}). Restore a newer backup ({restore}) or, to serve without the missing entries, "
        "accept their loss in the audit log (the same command with `--accept-missing`); see docs/backup.md"
    )


def mark_pending(data_dir: Path, message: str, details: Mapping[str, Any]) -> Path:
    path = data_dir / PENDING_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"message": message, **details}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def clear_pending(data_dir: Path) -> None:
    (data_dir / PENDING_FILE).unlink(missing_ok=True)


# --- restoring ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestoreOutcome:
    verdict: RestoredChain
    recorded: bool
    """``backup.restored`` was written: the restore is settled and the service may start."""
    marker: Path | None


def refuse_used_keys(where: Installation, *, replace: bool) -> None:
    """:class:`BackupError` when the node's keys folder holds files and ``replace`` was not asked."""
    if where.keys_dir.is_dir() and any(where.keys_dir.iterdir()) and not replace:
        raise BackupError(
            f"the keys folder {where.keys_dir} is not empty: this is not a fresh node. Restore with --replace to "
            "replace its keys with the backup's, after making sure they are the same installation's"
        )


def encrypted_keys(backup: CheckedBackup) -> bool:
    """Whether the backup's audit signing key is encrypted at rest (then the node needs the passphrase)."""
    key = backup.folder / KEYS_DIR / PRIVATE_KEY_FILE
    return key.is_file() and key.read_bytes().lstrip().startswith(ENCRYPTED_PEM)


def restore_files(backup: CheckedBackup, where: Installation, *, replace: bool) -> None:
    """Put the keys and the heads file of ``backup`` in place. Refuses (nothing changed) a keys folder that holds
    files unless ``replace``. A heads file already on the node is kept: it is evidence of heads published since."""
    refuse_used_keys(where, replace=replace)
    source = backup.folder / KEYS_DIR
    try:
        if source.is_dir():
            where.keys_dir.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(source, where.keys_dir, dirs_exist_ok=True)
            where.keys_dir.chmod(0o700)
        heads = backup.folder / HEADS
        if heads.is_file() and not where.heads_file.exists():
            where.heads_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(heads, where.heads_file)
    except OSError as err:
        raise BackupError(f"cannot restore the keys and heads: {err.strerror or err}") from None


def settle(
    chain: AuditChain,
    backup: CheckedBackup,
    verdict: RestoredChain,
    where: Installation,
    *,
    actor: str,
    database: str,
    accept_missing: bool,
) -> RestoreOutcome:
    """Record the restore (``backup.restored``) when the chain is intact and complete, or its missing entries are
    accepted; otherwise mark the data folder so that the service does not start, and record nothing: the chain
    stays as the backup left it until the operator decides (another backup may replace it)."""
    refused = not verdict.intact
    if refused or (verdict.missing is not None and not accept_missing):
        message = (
            "the restored backup was refused: its audit chain does not verify"
            if refused or verdict.missing is None
            else f"the restored backup is older than the last published audit head: {verdict.missing.describe()}"
        )
        marked = {
            "backup": str(backup.folder),
            "manifest_sha256": backup.manifest_sha256,
            "problems": list(verdict.problems),
            "missing": verdict.missing.details() if verdict.missing else None,
        }
        return RestoreOutcome(verdict, False, mark_pending(where.data_dir, message, marked))
    details: dict[str, Any] = {
        "backup": backup.folder.name,
        "manifest_sha256": backup.manifest_sha256,
        "created_at": backup.manifest.get("created_at"),
        "database": database,
        "restored_last_seq": verdict.last_seq,
        "heads_checked": [{"seq": h["seq"], "hash": h["hash"], "at": h["at"]} for h in verdict.checked_heads],
        "missing": verdict.missing.details() if verdict.missing else None,
    }
    chain.append(AuditEvent(actor, AuditAction.BACKUP_RESTORED, "database", details))
    chain.publish_head()
    clear_pending(where.data_dir)
    return RestoreOutcome(verdict, True, None)
