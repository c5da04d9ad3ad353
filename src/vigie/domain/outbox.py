"""Messages for the integration bus (MQTT, issue 21) kept in the database until the broker has them.

A message is written to the outbox in the same transaction as what it reports (a confirmed alert: the verdict and
its message commit together, or neither does), then published; it is marked sent only when the broker acknowledged
it (PUBACK, QoS 1). Until then it is published again — after a reconnection, after a restart of Vigie — so a
message is delivered at least once; its ``id`` is in the payload for consumers to drop the duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message to publish: its topic, its payload (UTF-8 JSON), whether the broker retains it."""

    id: str
    """A UUID, also in the payload (``id``): consumers drop a message whose id they have seen."""
    topic: str
    payload: bytes = field(repr=False)
    created_at: datetime
    retain: bool = False
    seq: int | None = None
    """Order of writing, given by the outbox (publishing follows it)."""


class Outbox(Protocol):
    """Where messages wait for their acknowledgement (:class:`vigie.storage.outbox.SqlOutbox`)."""

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Keep messages to publish (one transaction)."""
        ...

    def unsent(self, limit: int, *, after_seq: int = 0) -> Sequence[OutboxMessage]:
        """Messages not acknowledged yet, oldest first, with a ``seq`` above ``after_seq``."""
        ...

    def mark_sent(self, seqs: Sequence[int], at: datetime) -> int:
        """The broker acknowledged these messages (by ``seq``: one statement for a whole round of acknowledgements);
        how many were still unsent."""
        ...

    def sent_since(self, since: datetime, limit: int) -> Sequence[OutboxMessage]:
        """The latest ``limit`` messages acknowledged at or after ``since``, oldest first (published again after a
        broker crash may have lost them: Mosquitto acknowledges before it writes its database)."""
        ...

    def count_unsent(self) -> int:
        """Messages waiting for the broker."""
        ...

    def purge(self, sent_before: datetime) -> int:
        """Forget messages acknowledged before ``sent_before``; how many."""
        ...
