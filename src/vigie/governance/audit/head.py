"""Signed chain heads: what the server publishes outside itself so that the chain cannot be cut or rewritten later.

A head is a small JSON object::

    {"format": "vigie-audit-head", "version": 1, "seq": 1200, "hash": "…", "at": "…Z",
     "checkpoint_every": 100, "key_id": "…", "signature": "…"}

``signature`` is the audit key's Ed25519 signature (base64) over the canonical JSON of every other field, as for
checkpoints and export headers. It says: *the holder of this key attested at ``at`` that entry ``seq`` of the
chain had hash ``hash``*; by the chain, that fixes every entry up to ``seq``. Once a head has left the server (the
public page, ``/api/public/audit-head``, the DPO's copy of the heads file, ``vigie audit head -o``), an export that
does not contain entry ``seq`` with that very hash proves the chain was cut or rewritten
(``vigie audit verify EXPORT --head HEAD``).

The server publishes a head over each checkpoint it writes (every ``checkpoint_every`` entries, at service stop,
before an export or a key rotation), at the first entry after ``head_every`` has passed, and on demand. Each one
is appended as one line to the **heads file** (JSON Lines), which the DPO archives outside the server.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vigie.domain.audit import AuditRecord, canonical_json, format_time, parse_time
from vigie.governance.audit.signing import AuditSigner, verify_signature

log = logging.getLogger(__name__)

HEAD_FORMAT: Final = "vigie-audit-head"
HEAD_VERSION: Final = 1
HEAD_FIELDS: Final = frozenset({"format", "version", "seq", "hash", "at", "checkpoint_every", "key_id", "signature"})
TAIL_BYTES: Final = 64 * 1024
"""How much of the end of the heads file is read to find the latest head (a few hundred heads)."""


class HeadError(ValueError):
    """A head file that cannot be read, or a head that is not a well-formed signed head."""


def head_payload(head: Mapping[str, Any]) -> dict[str, Any]:
    """The signed part of a head: every field but ``signature``."""
    return {key: value for key, value in head.items() if key != "signature"}


def sign_head(signer: AuditSigner, record: AuditRecord, now: datetime, checkpoint_every: int) -> dict[str, Any]:
    """A head vouching for ``record`` (and so for the whole chain up to it), signed now."""
    head: dict[str, Any] = {
        "format": HEAD_FORMAT,
        "version": HEAD_VERSION,
        "seq": record.seq,
        "hash": record.hash,
        "at": format_time(now),
        "checkpoint_every": checkpoint_every,
        "key_id": signer.key_id,
    }
    head["signature"] = signer.sign(head)
    return head


def head_problem(value: Any) -> str | None:  # noqa: PLR0911 - one return per rule
    """Why ``value`` is not a well-formed head (its signature aside), or ``None``."""
    if not isinstance(value, dict):
        return "not a JSON object"
    if value.get("format") != HEAD_FORMAT or value.get("version") != HEAD_VERSION:
        return f"not a {HEAD_FORMAT} version {HEAD_VERSION}"
    if set(value) != HEAD_FIELDS:
        return f"fields must be exactly {', '.join(sorted(HEAD_FIELDS))}"
    seq, every = value["seq"], value["checkpoint_every"]
    if not (isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1):
        return "seq must be a positive integer"
    if not (isinstance(every, int) and not isinstance(every, bool) and every >= 1):
        return "checkpoint_every must be a positive integer"
    if not all(isinstance(value[name], str) for name in ("hash", "at", "key_id", "signature")):
        return "hash, at, key_id and signature must be strings"
    try:
        parse_time(value["at"])
    except ValueError:
        return "at must be a time like 2026-12-04T16:00:00.000000Z"
    return None


def head_signature_ok(head: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> bool | None:
    """Whether the head's signature verifies with the key it names; ``None`` when that key was not given."""
    key = keys.get(str(head.get("key_id")))
    if key is None:
        return None
    return verify_signature(key, head_payload(head), str(head.get("signature")))


def read_heads(path: Path) -> list[dict[str, Any]]:
    """The heads in a file: one JSON object (``vigie audit head -o``) or JSON Lines (the heads file).

    Raises :class:`HeadError` naming the file and line when a line is not a well-formed head.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise HeadError(f"cannot read head file {path}: {getattr(err, 'strerror', None) or err}") from None
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    values: list[tuple[int, Any]]
    if isinstance(whole, dict):
        values = [(1, whole)]
    else:
        values = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                values.append((number, json.loads(line)))
            except ValueError:
                raise HeadError(f"{path} line {number} is not JSON: not a signed audit head") from None
    heads = []
    for number, value in values:
        problem = head_problem(value)
        if problem is not None:
            raise HeadError(f"{path} line {number} is not a signed audit head: {problem}")
        heads.append(value)
    if not heads:
        raise HeadError(f"{path} holds no audit head")
    return heads


class HeadArchive:
    """The heads file: one signed head per line, appended, never rewritten by Vigie.

    Several processes (the service, ``vigie`` commands) may append to it: each head is one ``write`` of one line on
    a file opened in append mode, which the system does not interleave.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def publish(self, head: Mapping[str, Any]) -> None:
        """Append ``head`` as one line (raises ``OSError`` when the file cannot be written)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = canonical_json(dict(head)) + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def latest(self) -> dict[str, Any] | None:
        """The head with the largest ``seq`` among the last lines of the file, or ``None`` (no file, no head).

        Lines that are not well-formed heads are skipped (and logged): the archive is read, not trusted; whoever
        uses a head verifies its signature.
        """
        try:
            with self.path.open("rb") as file:
                size = file.seek(0, os.SEEK_END)
                file.seek(max(0, size - TAIL_BYTES))
                tail = file.read()
        except FileNotFoundError:
            return None
        except OSError as err:
            log.warning("cannot read the audit heads file %s: %s", self.path, err.strerror or err)
            return None
        lines = tail.split(b"\n")
        if len(tail) < size:
            lines = lines[1:]  # the first one is probably cut
        best: dict[str, Any] | None = None
        for raw in lines:
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
            if head_problem(value) is not None:
                log.warning("skipping a line of %s that is not a signed audit head", self.path)
                continue
            if best is None or value["seq"] >= best["seq"]:
                best = value
        return best
