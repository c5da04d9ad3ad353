"""What the audit chain needs from a store (implemented by ``vigie.storage.SqlAuditStore``).

Governance cannot import storage, so the contract is stated here and the composition root plugs the two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Protocol

from vigie.domain.audit import AuditEvent, AuditRecord


class AuditStore(Protocol):
    """An append-only, hash-chained log of audit records, plus the public keys that verify its signatures."""

    def append(self, event: AuditEvent, now: datetime) -> AuditRecord:
        """Chain and store ``event`` after the head, atomically with respect to every other writer."""
        ...

    def append_then(
        self,
        event: AuditEvent,
        now: datetime,
        then: Callable[[AuditRecord], AuditEvent | None] | None = None,
    ) -> tuple[AuditRecord, AuditRecord | None]:
        """Append ``event`` and, atomically with it, the event ``then(record)`` returns (``None``: nothing) right
        after it, so that no other writer's entry comes between the two. ``then`` may be called once per attempt."""
        ...

    def head(self) -> AuditRecord | None: ...

    def records(
        self,
        *,
        from_seq: int | None = None,
        to_seq: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[AuditRecord]:
        """Entries in ``seq`` order, streamed."""
        ...

    def seq_range(self, since: datetime | None = None, until: datetime | None = None) -> tuple[int, int] | None:
        """Smallest and largest ``seq`` whose time is in [since, until), or ``None``."""
        ...

    def add_public_key(self, key_id: str, public_key_pem: str, created_at: datetime) -> None: ...

    def retire_public_key(self, key_id: str, retired_at: datetime) -> None: ...

    def public_keys(self) -> dict[str, str]: ...
