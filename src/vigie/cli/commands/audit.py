"""The ``vigie audit`` commands: export, verify (offline), head, keys and rotate-key. Each returns an exit status.

``verify_command`` is the auditor's tool: it reads only the export, the public keys and the signed heads given to
it, and never opens the configuration or the database. ``head_command`` gives the DPO a signed head to archive.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from vigie.cli.commands.context import Unusable, opened
from vigie.governance.audit import (
    AuditChain,
    AuditExportError,
    AuditKeyError,
    HeadError,
    VerificationReport,
    export_audit,
    key_id_of,
    load_public_key,
    read_heads,
    verify_export,
)
from vigie.storage import StorageError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


class _CommandError(Exception):
    """Already worded for the operator; printed as is."""


def export_command(config_path: Path, since: datetime, until: datetime, out: Path) -> int:
    """Export the audit entries from ``since`` (inclusive) to ``until`` (exclusive) to ``out`` as signed JSONL."""
    try:
        with _audit_chain(config_path) as chain:
            summary = export_audit(chain, since, until, out, actor=cli_actor())
    except _CommandError as err:
        return _fail(str(err), EXIT_CONFIG)
    except (StorageError, AuditKeyError, AuditExportError, OSError) as err:
        return _fail(f"vigie audit export: {err}")
    span = (
        "no entries" if summary.count == 0 else f"{summary.count} entries seq {summary.first_seq}..{summary.last_seq}"
    )
    print(f"exported {span} to {out}, signed by key {summary.key_id} (sha256 {summary.sha256})")
    return EXIT_OK


def verify_command(path: Path, pubkeys: list[Path], heads: list[Path] | None = None) -> int:
    """Verify an export offline against the given public key files (or directories of ``*.pem``) and signed heads
    published earlier (``vigie audit head -o`` files or the heads file): the export must extend each of them."""
    try:
        keys = _read_public_keys(pubkeys)
        given = _read_heads(heads or [])
    except _CommandError as err:
        return _fail(str(err), EXIT_CONFIG)
    report = verify_export(path, keys, given)
    print(describe(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def head_command(config_path: Path, out: Path) -> int:
    """Checkpoint the chain if needed and write its signed head to ``out`` (also appended to the heads file)."""
    try:
        with _audit_chain(config_path) as chain:
            head = chain.publish_head()
            archive = chain.heads.path if chain.heads is not None else None
    except _CommandError as err:
        return _fail(str(err), EXIT_CONFIG)
    except (StorageError, AuditKeyError, OSError) as err:
        return _fail(f"vigie audit head: {err}")
    if head is None:
        return _fail("vigie audit head: the audit log is empty: there is no head to sign yet")
    try:
        out.write_text(json.dumps(head, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as err:
        return _fail(f"vigie audit head: cannot write {out}: {err.strerror or err}")
    print(f"head seq {head['seq']} hash {head['hash']} at {head['at']}, signed by key {head['key_id']}")
    print(f"wrote {out}{f' (also appended to {archive})' if archive else ''}: archive it outside the server;")
    print(f"an export must extend it: vigie audit verify EXPORT --pubkey KEYS --head {out.name}")
    return EXIT_OK


def keys_command(config_path: Path, out_dir: Path) -> int:
    """Write the PEM of every audit public key (current and retired) into ``out_dir``, one ``<key_id>.pem`` each."""
    try:
        with _audit_chain(config_path) as chain:
            chain.signer()
            keys = {**chain.store.public_keys(), **chain.keyring.public_keys()}
            out_dir.mkdir(parents=True, exist_ok=True)
            for key_id, pem in keys.items():
                (out_dir / f"{key_id}.pem").write_text(pem, encoding="ascii")
            current = chain.keyring.load_or_create()
    except _CommandError as err:
        return _fail(str(err), EXIT_CONFIG)
    except (StorageError, AuditKeyError, OSError) as err:
        return _fail(f"vigie audit keys: {err}")
    print(f"wrote {len(keys)} public key(s) to {out_dir}; current key {current}")
    return EXIT_OK


def rotate_key_command(config_path: Path) -> int:
    """Replace the signing key; the rotation is recorded (and endorsed by the old key) in the chain."""
    try:
        with _audit_chain(config_path) as chain:
            record = chain.rotate_key(actor=cli_actor())
    except _CommandError as err:
        return _fail(str(err), EXIT_CONFIG)
    except (StorageError, AuditKeyError, OSError) as err:
        return _fail(f"vigie audit rotate-key: {err}")
    old, new = record.details["old_key_id"], record.details["new_key_id"]
    print(f"rotated the audit signing key {old} -> {new} (seq {record.seq}); publish the new public key")
    print("a running Vigie service keeps signing with the old key until it restarts")
    return EXIT_OK


def describe(report: VerificationReport) -> str:
    """The verdict in words: one OK line, or one line per issue."""
    if report.ok:
        span = f"seq {report.first_seq}..{report.last_seq}" if report.entries else "no entries"
        heads = f"; extends {report.heads} published head(s)" if report.heads else ""
        return f"OK: {report.entries} entries {span}, signed by key {report.key_id}{heads}"
    lines = [f"FAILED: {len(report.issues)} issue(s) in {report.entries} entries"]
    lines += [f"  [{issue.kind}] {issue.message}" for issue in report.issues]
    return "\n".join(lines)


@contextmanager
def _audit_chain(config_path: Path) -> Iterator[AuditChain]:
    try:
        with opened(config_path) as context:
            yield context.audit
    except Unusable as err:
        raise _CommandError(f"vigie: {err}") from None


def _read_public_keys(paths: list[Path]) -> dict[str, str]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.pem")) if path.is_dir() else [path])
    keys: dict[str, str] = {}
    for file in files:
        try:
            pem = file.read_text(encoding="ascii")
            keys[key_id_of(load_public_key(pem))] = pem
        except (OSError, UnicodeDecodeError, AuditKeyError) as err:
            raise _CommandError(f"vigie audit verify: cannot use public key {file}: {err}") from None
    return keys


def _read_heads(paths: list[Path]) -> list[dict[str, object]]:
    heads: list[dict[str, object]] = []
    for path in paths:
        try:
            heads.extend(read_heads(path))
        except HeadError as err:
            raise _CommandError(f"vigie audit verify: {err}") from None
    return heads


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _fail(message: str, status: int = EXIT_FAILED) -> int:
    print(message, file=sys.stderr)
    return status
