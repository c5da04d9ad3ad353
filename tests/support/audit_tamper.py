"""What an insider with the database, and nothing else, can do to the audit chain: delete rows, or drop rows and
re-chain the rest with the public hash function so that every link and hash checks again. No signing key."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from vigie.domain.audit import AuditAction, AuditEvent, AuditRecord, canonical_json, seal
from vigie.storage import SqlAuditStore
from vigie.storage.tables import AuditEntryRow


def delete_last_rows(database: Path, count: int) -> None:
    """``DELETE`` the last ``count`` entries with the sqlite3 module, as ``sqlite3 vigie.db`` would."""
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM audit_entries WHERE seq > (SELECT MAX(seq) FROM audit_entries) - ?", (count,))


def rechain(engine: Engine, keep: Callable[[AuditRecord], bool]) -> int:
    """Drop the entries ``keep`` refuses, renumber the others from the first ``seq`` and recompute every hash
    (``vigie.domain.audit.seal``), so the stored chain is consistent again. Returns how many entries went."""
    records = list(SqlAuditStore(engine).records())
    if not records:
        return 0
    kept = [record for record in records if keep(record)]
    seq, prev_hash = records[0].seq, records[0].prev_hash
    rows = []
    for record in kept:
        event = AuditEvent(record.actor, AuditAction(record.action), record.target, record.details)
        new = seal(seq, event, record.at, prev_hash)
        rows.append(
            AuditEntryRow(
                seq=new.seq,
                at=new.at,
                actor=new.actor,
                action=new.action,
                target=new.target,
                details=canonical_json(dict(new.details)).decode(),
                prev_hash=new.prev_hash,
                hash=new.hash,
            )
        )
        seq, prev_hash = seq + 1, new.hash
    with Session(engine) as session, session.begin():
        session.execute(delete(AuditEntryRow))
        session.flush()
        session.add_all(rows)
    return len(records) - len(kept)
