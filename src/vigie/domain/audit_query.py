"""Reading the audit log (L10, L11): the filters a person gives and the part of the log a tenant sees.

Pure data and the port that reads; the SQL is ``vigie.storage.SqlAuditReader``, and the rule that decides what a
tenant sees (which people, cameras and accounts are its own) is ``vigie.services.audit.tenant_scope``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from vigie.domain.audit import AuditRecord


@dataclass(frozen=True, slots=True)
class AuditScope:
    """The entries one tenant's readers see: any entry matching at least one of these (none matches nothing)."""

    actors: frozenset[str] = frozenset()
    """Entries by these people."""
    targets: frozenset[str] = frozenset()
    """Entries about exactly these targets (``vil-1``, ``camera:vil-1``, ``user:alice``, ``commune:bron``…)."""
    target_suffixes: frozenset[str] = frozenset()
    """Entries whose target ends with one of these (``@vil-1``: an analysis module on that camera)."""
    actions: frozenset[str] = frozenset()
    """Entries with these actions, whoever and whatever (the platform's own: checkpoints, service starts…)."""


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries to read; every field left ``None`` does not filter."""

    scope: AuditScope | None = None
    """``None``: the whole log."""
    since: datetime | None = None
    """At or after (timezone-aware)."""
    until: datetime | None = None
    """Strictly before (timezone-aware)."""
    actor: str | None = None
    action: str | None = None
    target_prefix: str | None = None
    max_seq: int | None = None
    """Entries up to this ``seq``: pages read one after the other stay put while new entries arrive."""


class AuditLogReader(Protocol):
    """Queries over the stored audit log (the chain itself appends and streams: ``governance.audit.AuditStore``)."""

    def page(self, query: AuditQuery, *, limit: int, offset: int) -> Sequence[AuditRecord]:
        """Matching entries, newest (largest ``seq``) first."""
        ...

    def count_outside(self, scope: AuditScope, *, from_seq: int, to_seq: int) -> int:
        """How many entries of ``from_seq``..``to_seq`` (inclusive) ``scope`` does not cover."""
        ...
