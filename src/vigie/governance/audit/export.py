"""Export a range of the audit log as signed JSON Lines that an auditor verifies offline (``verify.py``).

Line 1 is the header; its ``signature`` (Ed25519, current key, base64) covers the canonical JSON of every other
header field, ``checkpoint_every`` (the chain's checkpoint interval, which the verifier enforces) among them.
Then one line per entry, ``AuditRecord.to_json()`` in canonical JSON, in ``seq`` order, every line ending with
``\\n``. The exported range is the contiguous ``seq`` range from the first entry at or after ``from``
to the last entry before ``to``: a contiguous range is what lets a verifier detect a deleted entry.

The export first checkpoints the head, then fixes the range, writes the file (through a temporary file renamed
at the end), and finally appends an ``audit.exported`` entry naming the range and the file's SHA-256.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from vigie.domain.audit import AuditAction, AuditEvent, AuditRecord, canonical_json, format_time
from vigie.governance.audit.chain import SYSTEM_ACTOR, AuditChain
from vigie.governance.audit.signing import AuditSigner

EXPORT_FORMAT: Final = "vigie-audit-export"
EXPORT_VERSION: Final = 2
"""Version 2 adds ``checkpoint_every`` to the header: the verifier requires the checkpoints the chain promises."""
HEADER_FIELDS_V1: Final = frozenset(
    {
        "format",
        "version",
        "from",
        "to",
        "exported_at",
        "first_seq",
        "last_seq",
        "count",
        "first_prev_hash",
        "last_hash",
        "key_id",
        "signature",
    }
)
HEADER_FIELDS: Final = HEADER_FIELDS_V1 | {"checkpoint_every"}


class AuditExportError(Exception):
    """The log changed under the export or the file could not be written; no export file is left behind."""


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What was exported, as the header says, and the file's digest."""

    path: Path
    count: int
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None
    key_id: str
    sha256: str


def header_payload(header: dict[str, Any]) -> dict[str, Any]:
    """The signed part of a header: every field but ``signature``."""
    return {key: value for key, value in header.items() if key != "signature"}


def export_audit(
    chain: AuditChain, since: datetime, until: datetime, out: Path, *, actor: str = SYSTEM_ACTOR
) -> ExportSummary:
    """Write the entries with ``since`` <= at < ``until`` (widened to a contiguous seq range) to ``out``."""
    chain.checkpoint()
    seq_range = chain.store.seq_range(since, until)
    first, last = _bounds(chain, seq_range)
    signer = chain.signer()
    header = signed_header(
        signer,
        since=since,
        until=until,
        now=chain.clock(),
        first=first,
        last=last,
        checkpoint_every=chain.checkpoint_every,
    )
    digest = _write(chain, out, header, seq_range)
    summary = ExportSummary(
        out, header["count"], header["first_seq"], header["last_seq"], header["last_hash"], signer.key_id, digest
    )
    details = {
        "from": header["from"],
        "to": header["to"],
        "first_seq": summary.first_seq,
        "last_seq": summary.last_seq,
        "count": summary.count,
        "last_hash": summary.last_hash,
        "file_sha256": digest,
        "key_id": signer.key_id,
    }
    chain.append(AuditEvent(actor, AuditAction.AUDIT_EXPORTED, out.name, details))
    return summary


def _bounds(chain: AuditChain, seq_range: tuple[int, int] | None) -> tuple[AuditRecord | None, AuditRecord | None]:
    if seq_range is None:
        return None, None
    first = next(chain.store.records(from_seq=seq_range[0], to_seq=seq_range[0]), None)
    last = next(chain.store.records(from_seq=seq_range[1], to_seq=seq_range[1]), None)
    if first is None or last is None:
        raise AuditExportError(f"audit entries {seq_range[0]}..{seq_range[1]} vanished during the export")
    return first, last


def signed_header(
    signer: AuditSigner,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    first: AuditRecord | None,
    last: AuditRecord | None,
    checkpoint_every: int,
) -> dict[str, Any]:
    """Line 1 of an export of ``first``..``last``; also what the live log is verified under (services.audit).

    ``checkpoint_every`` is the chain's interval: entry ``k`` (a multiple of it) is followed by its checkpoint."""
    header: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "from": format_time(since),
        "to": format_time(until),
        "exported_at": format_time(now),
        "first_seq": first.seq if first else None,
        "last_seq": last.seq if last else None,
        "count": (last.seq - first.seq + 1) if first and last else 0,
        "first_prev_hash": first.prev_hash if first else None,
        "last_hash": last.hash if last else None,
        "checkpoint_every": checkpoint_every,
        "key_id": signer.key_id,
    }
    header["signature"] = signer.sign(header)
    return header


def _write(chain: AuditChain, out: Path, header: dict[str, Any], seq_range: tuple[int, int] | None) -> str:
    """Stream the file through a temporary name; check what was written matches the header; return its SHA-256."""
    temp = out.with_name(f".{out.name}.partial")
    digest = hashlib.sha256()
    written, last_hash = 0, None
    try:
        with temp.open("wb") as file:
            _write_line(file, header, digest)
            if seq_range is not None:
                for record in chain.store.records(from_seq=seq_range[0], to_seq=seq_range[1]):
                    _write_line(file, record.to_json(), digest)
                    written, last_hash = written + 1, record.hash
            file.flush()
            os.fsync(file.fileno())
        if written != header["count"] or last_hash != header["last_hash"]:
            raise AuditExportError(
                f"the audit log changed during the export: wrote {written} entries ending {last_hash}, "
                f"expected {header['count']} ending {header['last_hash']}"
            )
        temp.replace(out)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return digest.hexdigest()


def _write_line(file: Any, value: dict[str, Any], digest: Any) -> None:
    line = canonical_json(value) + b"\n"
    file.write(line)
    digest.update(line)
