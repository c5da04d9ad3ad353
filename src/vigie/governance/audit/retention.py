"""Audit log retention (L12): entries older than the configured period (3 years by default, never under
6 months for AI logs) are deleted, and the deletion itself is recorded in the chain.

Governance cannot import storage: what retention needs of the store is :class:`AuditPruning` (``prune``), which
``vigie.storage.SqlAuditStore`` provides; the composition root plugs the two.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from vigie.domain.audit import AuditAction, AuditEvent, AuditRecord
from vigie.domain.ports import AuditSink

RETENTION_ACTOR = "system:retention"


class AuditPruning(Protocol):
    """The one thing retention asks of the audit store."""

    def prune(self, older_than: datetime) -> tuple[int, AuditRecord | None]:
        """Delete the entries before ``older_than`` as a contiguous prefix that never includes the head; return how
        many were deleted and the last of them (whose hash the first remaining entry still names)."""
        ...


class AuditRetention:
    """A periodic job: prune what is past retention, then record the pruning in the chain."""

    def __init__(self, store: AuditPruning, audit: AuditSink, retention_days: int) -> None:
        self._store = store
        self._audit = audit
        self._retention = timedelta(days=retention_days)

    def __call__(self, now: datetime) -> int:
        """Prune what is past retention at ``now``; return how many entries were deleted."""
        count, last = self._store.prune(now - self._retention)
        if last is not None:
            self._audit.append(
                AuditEvent(
                    RETENTION_ACTOR,
                    AuditAction.AUDIT_PRUNED,
                    "audit",
                    {
                        "entries": count,
                        "up_to_seq": last.seq,
                        "up_to_hash": last.hash,
                        "retention_days": self._retention.days,
                    },
                )
            )
        return count
