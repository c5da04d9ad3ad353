"""Audit log retention (L12): entries older than the configured period (3 years by default, never under
6 months for AI logs) are deleted, and the deletion itself is recorded in the chain."""

from __future__ import annotations

from datetime import datetime, timedelta

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.ports import AuditSink
from vigie.storage import SqlAuditStore

RETENTION_ACTOR = "system:retention"


class AuditRetention:
    def __init__(self, store: SqlAuditStore, audit: AuditSink, retention_days: int) -> None:
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
