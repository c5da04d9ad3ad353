"""Queries over the audit log for the people who read it (implements ``vigie.domain.audit_query.AuditLogReader``).

The chain itself (appending, streaming in ``seq`` order, pruning) is :class:`vigie.storage.SqlAuditStore`; this
reads the same table, newest first, filtered in SQL, including the tenant's scope, so a page costs an index walk
from the head rather than a scan of the whole log in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Engine, false, func, not_, or_, select
from sqlalchemy.orm import sessionmaker

from vigie.domain.audit import AuditRecord
from vigie.domain.audit_query import AuditQuery, AuditScope

# One conversion from a row to a record for the whole storage layer (the store's, not a second copy).
from vigie.storage.audit import _row_to_record
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import AuditEntryRow, require_aware


class SqlAuditReader:
    """Read-only; safe to share between threads."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def page(self, query: AuditQuery, *, limit: int, offset: int) -> Sequence[AuditRecord]:
        """Matching entries, newest first."""
        statement = (
            select(AuditEntryRow).where(*_filters(query)).order_by(AuditEntryRow.seq.desc()).limit(limit).offset(offset)
        )
        with storage_errors(self._engine, "read the audit log"), self._read.begin() as session:
            return [_row_to_record(row) for row in session.scalars(statement)]

    def count_outside(self, scope: AuditScope, *, from_seq: int, to_seq: int) -> int:
        """Entries of ``from_seq``..``to_seq`` that ``scope`` does not cover."""
        statement = (
            select(func.count())
            .select_from(AuditEntryRow)
            .where(AuditEntryRow.seq >= from_seq, AuditEntryRow.seq <= to_seq, not_(_in_scope(scope)))
        )
        with storage_errors(self._engine, "read the audit log"), self._read.begin() as session:
            return int(session.scalar(statement) or 0)


def _filters(query: AuditQuery) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if query.scope is not None:
        filters.append(_in_scope(query.scope))
    if query.since is not None:
        filters.append(AuditEntryRow.at >= require_aware(query.since, "since"))
    if query.until is not None:
        filters.append(AuditEntryRow.at < require_aware(query.until, "until"))
    if query.actor is not None:
        filters.append(AuditEntryRow.actor == query.actor)
    if query.action is not None:
        filters.append(AuditEntryRow.action == query.action)
    if query.target_prefix:
        filters.append(AuditEntryRow.target.startswith(query.target_prefix, autoescape=True))
    if query.max_seq is not None:
        filters.append(AuditEntryRow.seq <= query.max_seq)
    return filters


def _in_scope(scope: AuditScope) -> ColumnElement[bool]:
    clauses: list[ColumnElement[bool]] = []
    if scope.actors:
        clauses.append(AuditEntryRow.actor.in_(sorted(scope.actors)))
    if scope.targets:
        clauses.append(AuditEntryRow.target.in_(sorted(scope.targets)))
    if scope.actions:
        clauses.append(AuditEntryRow.action.in_(sorted(scope.actions)))
    clauses.extend(AuditEntryRow.target.endswith(s, autoescape=True) for s in sorted(scope.target_suffixes))
    return or_(*clauses) if clauses else false()
