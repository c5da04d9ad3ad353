"""The audit log in SQL (L11): an append-only, hash-chained table, written by many processes without forking.

Appending is one short transaction that takes the writers' lock first (``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on PostgreSQL), reads the head, seals the next record with
:func:`vigie.domain.audit.seal` and inserts it. ``prev_hash`` and ``hash`` are UNIQUE, so even if the lock
failed two writers could not both follow the same head: the loser gets a unique violation and retries on the
new head. Nothing here updates an entry; :meth:`SqlAuditStore.prune` deletes only the oldest entries, as a
contiguous prefix that never includes the head, when their retention period is over (L12).

Reads stream in batches by ``seq`` (keyset pagination, one short read transaction per batch), so exporting
millions of entries keeps memory bounded and never holds a read snapshot open for long.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Final, cast

from sqlalchemy import ColumnElement, Engine, Table, delete, exc, func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from vigie.domain.audit import GENESIS_HASH, AuditEvent, AuditRecord, canonical_json, seal
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.errors import StorageError
from vigie.storage.tables import AuditEntryRow, AuditKeyRow, require_aware

AUDIT_LOCK_KEY: Final = 0x76696761  # "viga": the PostgreSQL advisory lock held while appending to the audit log
APPEND_ATTEMPTS: Final = 5
"""How many times an append is tried when another writer took the head first (only if the lock failed), or held
SQLite's write lock past the busy timeout (5 s each time)."""
READ_BATCH: Final = 500
"""Entries read per transaction while streaming."""


class AuditAppendConflictError(StorageError):
    """Other writers kept taking the head: the entry could not be chained after several attempts."""


class SqlAuditStore:
    """The ``audit_entries`` and ``audit_keys`` tables (implements ``vigie.governance.audit.AuditStore``).

    Safe to share between threads; any number of processes may append to the same database.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def append(self, event: AuditEvent, now: datetime) -> AuditRecord:
        """Chain ``event`` after the current head and store it; return the stored record.

        Its time is ``event.at`` when set, else ``now`` (the caller's clock: the store never reads the host's). Raises
        :class:`~vigie.storage.errors.StorageError` if it could not be stored: an audit entry is never dropped.
        """
        return self.append_then(event, now)[0]

    def append_then(
        self,
        event: AuditEvent,
        now: datetime,
        then: Callable[[AuditRecord], AuditEvent | None] | None = None,
    ) -> tuple[AuditRecord, AuditRecord | None]:
        """Append ``event`` and, in the same transaction, the event ``then(record)`` returns (if any) right after
        it: no other writer can come between the two, and either both are stored or neither. The audit chain uses
        it to put a signed checkpoint immediately after every ``checkpoint_every``-th entry. ``then`` may be
        called more than once (once per attempt) and must not write to the database itself."""
        at = require_aware(event.at or now, "audit time")
        for _attempt in range(APPEND_ATTEMPTS):
            try:
                with storage_errors(self._engine, "append to the audit log"), self._write.begin() as session:
                    record = self._append_locked(session, event, at)
                    follow = then(record) if then is not None else None
                    if follow is None:
                        return record, None
                    after = self._append_locked(session, follow, require_aware(follow.at or now, "audit time"))
                    return record, after
            except StorageError as err:
                if isinstance(err.__cause__, exc.IntegrityError):
                    continue  # another writer took the head first (only if the lock failed): chain on the new head
                if _locked(err.__cause__) and _attempt < APPEND_ATTEMPTS - 1:
                    continue  # SQLite's write lock stayed taken past the busy timeout (a loaded host): wait again
                raise
        raise AuditAppendConflictError(
            f"cannot append {event.action} to the audit log: the head changed {APPEND_ATTEMPTS} times in a row"
        )

    def prune(self, older_than: datetime) -> tuple[int, AuditRecord | None]:
        """Delete the oldest entries, those before ``older_than``, as a contiguous prefix that never includes the
        head (so the chain goes on). Return how many were deleted and the last of them, whose hash the first
        remaining entry's ``prev_hash`` still names."""
        require_aware(older_than, "prune time")
        with storage_errors(self._engine, "prune the audit log"), self._write.begin() as session:
            head = _head_row(session)
            if head is None:
                return 0, None
            last = session.scalars(
                select(AuditEntryRow)
                .where(AuditEntryRow.at < older_than, AuditEntryRow.seq < head.seq)
                .order_by(AuditEntryRow.seq.desc())
                .limit(1)
            ).first()
            if last is None:
                return 0, None
            record = _row_to_record(last)
            deleted = session.execute(delete(AuditEntryRow).where(AuditEntryRow.seq <= last.seq))
            return int(getattr(deleted, "rowcount", 0) or 0), record

    def last(self, action: str) -> AuditRecord | None:
        """The most recent entry with this action (e.g. the last ``service.started``), or ``None``."""
        with storage_errors(self._engine, "read the audit log"), self._read.begin() as session:
            row = session.scalars(
                select(AuditEntryRow).where(AuditEntryRow.action == action).order_by(AuditEntryRow.seq.desc()).limit(1)
            ).first()
            return None if row is None else _row_to_record(row)

    def head(self) -> AuditRecord | None:
        """The last entry of the chain, or ``None`` when the log is empty."""
        with storage_errors(self._engine, "read the audit head"), self._read.begin() as session:
            row = _head_row(session)
            return None if row is None else _row_to_record(row)

    def count(self) -> int:
        """How many entries the log holds."""
        with storage_errors(self._engine, "count audit entries"), self._read.begin() as session:
            return int(session.scalar(select(func.count()).select_from(AuditEntryRow)) or 0)

    def records(
        self,
        *,
        from_seq: int | None = None,
        to_seq: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[AuditRecord]:
        """Entries in ``seq`` order, ``from_seq``..``to_seq`` inclusive and ``since`` <= at < ``until``.

        Streamed in batches of :data:`READ_BATCH`, one short read transaction each.
        """
        filters: list[ColumnElement[bool]] = []
        if to_seq is not None:
            filters.append(AuditEntryRow.seq <= to_seq)
        if since is not None:
            filters.append(AuditEntryRow.at >= require_aware(since, "since"))
        if until is not None:
            filters.append(AuditEntryRow.at < require_aware(until, "until"))
        after = (from_seq - 1) if from_seq is not None else None
        while True:
            query = select(AuditEntryRow).where(*filters).order_by(AuditEntryRow.seq).limit(READ_BATCH)
            if after is not None:
                query = query.where(AuditEntryRow.seq > after)
            with storage_errors(self._engine, "read the audit log"), self._read.begin() as session:
                batch = [_row_to_record(row) for row in session.scalars(query)]
            yield from batch
            if len(batch) < READ_BATCH:
                return
            after = batch[-1].seq

    def seq_range(self, since: datetime | None = None, until: datetime | None = None) -> tuple[int, int] | None:
        """The smallest and largest ``seq`` with ``since`` <= at < ``until``, or ``None`` if there is none."""
        query = select(func.min(AuditEntryRow.seq), func.max(AuditEntryRow.seq))
        if since is not None:
            query = query.where(AuditEntryRow.at >= require_aware(since, "since"))
        if until is not None:
            query = query.where(AuditEntryRow.at < require_aware(until, "until"))
        with storage_errors(self._engine, "read the audit range"), self._read.begin() as session:
            first, last = session.execute(query).one()
        return None if first is None or last is None else (int(first), int(last))

    def add_public_key(self, key_id: str, public_key_pem: str, created_at: datetime) -> None:
        """Register a signing key's public half; does nothing if ``key_id`` is already there."""
        with storage_errors(self._engine, f"register audit key {key_id}"), self._write.begin() as session:
            if session.get(AuditKeyRow, key_id) is None:
                session.add(
                    AuditKeyRow(
                        key_id=key_id,
                        public_key_pem=public_key_pem,
                        created_at=require_aware(created_at, "created_at"),
                        retired_at=None,
                    )
                )

    def retire_public_key(self, key_id: str, retired_at: datetime) -> None:
        """Mark a key as no longer signing (its public key stays, to verify what it signed)."""
        when = require_aware(retired_at, "retired_at")
        with storage_errors(self._engine, f"retire audit key {key_id}"), self._write.begin() as session:
            session.execute(
                update(AuditKeyRow)
                .where(AuditKeyRow.key_id == key_id, AuditKeyRow.retired_at.is_(None))
                .values(retired_at=when)
            )

    def public_keys(self) -> dict[str, str]:
        """Every registered public key (current and retired), PEM by key id."""
        with storage_errors(self._engine, "read audit keys"), self._read.begin() as session:
            rows = session.scalars(select(AuditKeyRow).order_by(AuditKeyRow.created_at, AuditKeyRow.key_id))
            return {row.key_id: row.public_key_pem for row in rows}

    def _append_locked(self, session: Session, event: AuditEvent, at: datetime) -> AuditRecord:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
        # Core statements on the session's connection, the head's sequence number and hash only: the ORM's load of
        # the whole head row and its flush of the new one were half the CPU of raising and confirming an alert
        # (bench/mqtt_throughput.py); a concurrent writer's same seq fails the primary key here as it did at flush.
        connection = session.connection()
        head = connection.execute(_HEAD).first()
        seq, prev_hash = (1, GENESIS_HASH) if head is None else (head.seq + 1, head.hash)
        record = seal(seq, event, at, prev_hash)
        connection.execute(
            _INSERT,
            {
                "seq": record.seq,
                "at": record.at,
                "actor": record.actor,
                "action": record.action,
                "target": record.target,
                "details": canonical_json(dict(record.details)).decode(),
                "prev_hash": record.prev_hash,
                "hash": record.hash,
            },
        )
        return record


_ENTRIES = cast(Table, AuditEntryRow.__table__)  # a declarative class's table is a Table
_HEAD = select(_ENTRIES.c.seq, _ENTRIES.c.hash).order_by(_ENTRIES.c.seq.desc()).limit(1)
_INSERT = insert(_ENTRIES)


def _locked(err: BaseException | None) -> bool:
    """Whether SQLite refused because another writer held its lock for longer than the busy timeout: an audit entry
    is never dropped, so the append waits again rather than fail the act it traces."""
    return isinstance(err, exc.OperationalError) and "database is locked" in str(err.orig or err).lower()


def _head_row(session: Session) -> AuditEntryRow | None:
    return session.scalars(select(AuditEntryRow).order_by(AuditEntryRow.seq.desc()).limit(1)).first()


def _row_to_record(row: AuditEntryRow) -> AuditRecord:
    return AuditRecord(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
