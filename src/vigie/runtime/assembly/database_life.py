"""Starting on an empty database where the data folder shows a previous life (issue 15, D10).

Deleting the database and restarting used to give an empty one (no account, no activation) and a new audit chain
from seq 1 signed with the same key, silently: the history was gone and nothing said so. Now the service refuses to
start on an empty database (no audit entry) when the data folder holds what only a previous run leaves — audit
signing keys older than the database, recordings, published audit heads, a journal of writes not yet written — unless
told to start a new database explicitly (``vigie serve --new-database``). Then the new chain begins with
``database.new``, which names the last published head of the previous chain (its seq and hash) and the evidence
found, so an auditor sees the break, and the log says so.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.governance.audit.head import HeadArchive
from vigie.governance.audit.signing import PRIVATE_KEY_FILE, PUBLIC_DIR
from vigie.recording.segment_writer import SEGMENT_SUFFIX

log = logging.getLogger(__name__)
NEW_DATABASE_FLAG = "--new-database"


@dataclass(frozen=True, slots=True)
class PreviousLife:
    """What the data folder shows of earlier runs (empty: a first start)."""

    evidence: tuple[str, ...] = ()
    """One line per kind of evidence, for a person."""
    last_head: dict[str, Any] | None = None
    """The last published head of the previous chain (``seq``, ``hash``, ...), when one was published."""
    details: dict[str, Any] = field(default_factory=dict)
    """The same, as audit details."""

    def __bool__(self) -> bool:
        return bool(self.evidence)


def previous_life(
    *,
    keys_dir: Path,
    heads_file: Path,
    segments_root: Path,
    journal_file: Path,
    database_file: Path | None,
    database_existed: bool,
) -> PreviousLife:
    """Look for a previous life (see the module docstring). Audit keys count when the database is newer than them
    (``database_existed`` False: created by this start; or the key file older than the database file): a first
    start that stopped after creating its keys, before its first entry, is not a previous life."""
    evidence: list[str] = []
    details: dict[str, Any] = {}
    key = keys_dir / PRIVATE_KEY_FILE
    public = sorted(p.stem for p in (keys_dir / PUBLIC_DIR).glob("*.pem")) if (keys_dir / PUBLIC_DIR).is_dir() else []
    if (key.exists() or public) and _keys_predate(key, database_file, database_existed):
        evidence.append(f"audit signing keys in {keys_dir} ({', '.join(public) or 'a private key'})")
        details["audit_keys"] = public
    last_head = None
    if heads_file.is_file() and heads_file.stat().st_size > 0:
        last_head = HeadArchive(heads_file).latest()
        seq = "unreadable" if last_head is None else f"the last at seq {last_head.get('seq')}"
        evidence.append(f"published audit heads in {heads_file} ({seq})")
        details["heads_file"] = str(heads_file)
    segments = _count_segments(segments_root)
    if segments:
        evidence.append(f"recordings in {segments_root} ({segments}{'+' if segments >= _ENOUGH else ''} segment files)")
        details["segment_files"] = segments
    if journal_file.is_file() and journal_file.stat().st_size > 0:
        evidence.append(f"writes kept for the database in {journal_file}")
        details["journal"] = str(journal_file)
    return PreviousLife(tuple(evidence), last_head, details)


def new_database_event(life: PreviousLife, actor: str) -> AuditEvent:
    """``database.new``: the previous chain's last published head (seq, hash, time, key id) and the evidence found;
    said in the log too."""
    head = life.last_head or {}
    details = {
        "previous_head": {k: head.get(k) for k in ("seq", "hash", "at", "key_id")} if head else None,
        "evidence": life.details,
    }
    log.warning(
        "started on a new, empty database although the data folder shows a previous life (%s); recorded as "
        "database.new, after the previous chain's head %s",
        "; ".join(life.evidence),
        f"seq {head.get('seq')} hash {head.get('hash')}" if head else "(none published)",
    )
    return AuditEvent(actor, AuditAction.DATABASE_NEW, "database", details)


def refusal_message(database: str, life: PreviousLife) -> str:
    """Why the service does not start, and what to do."""
    found = "; ".join(life.evidence)
    return (
        f"the database {database} is empty (no audit entry), but the data folder shows a previous life: {found}. "
        "If the database was deleted or lost, put it back (restore it from a backup) and start again. To start a new, "
        f"empty database anyway (a new audit chain, whose first entry names the previous chain's last head), run "
        f"`vigie serve {NEW_DATABASE_FLAG}`"
    )


_ENOUGH = 100
"""Counting segment files stops there: the count is evidence, not an inventory."""


def _count_segments(root: Path) -> int:
    count = 0
    for _dirpath, _dirs, files in os.walk(root):
        count += sum(1 for name in files if name.endswith(SEGMENT_SUFFIX))
        if count >= _ENOUGH:
            return count
    return count


def _keys_predate(key: Path, database_file: Path | None, database_existed: bool) -> bool:
    if database_file is None or not database_existed:
        return True
    try:
        return key.stat().st_mtime < database_file.stat().st_mtime
    except OSError:
        return True
