"""Webhook deliveries (issue 21): what waits to be POSTed to a configured endpoint, and where it waits.

A delivery is written in the same transaction as what it reports (a confirmed alert's verdict: both commit or
neither does; L28), then sent by ``vigie serve``'s sender of its endpoint, retried with a backoff until the
receiver answers 2xx or the endpoint's ``max_attempts`` are spent. Each row is one payload for one endpoint; its
``message_id`` is the payload's ``id`` and the ``webhook-id`` header, the same at every attempt, for receivers to
drop a duplicate.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class DeliveryState(enum.StrEnum):
    WAITING = "waiting"
    """Not delivered yet: sent at ``next_attempt_at``."""
    DELIVERED = "delivered"
    """The receiver answered 2xx."""
    FAILED = "failed"
    """Given up after the endpoint's ``max_attempts``."""
    DROPPED = "dropped"
    """Not sent: the endpoint was disabled (it answered 410 Gone)."""


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One payload (UTF-8 JSON) for one endpoint."""

    message_id: str
    endpoint: str
    """The endpoint's ``name`` in the configuration."""
    kind: str
    """The payload's ``type``: ``alert.confirmed`` or ``health``."""
    payload: bytes = field(repr=False)
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    state: DeliveryState = DeliveryState.WAITING
    last_error: str = ""
    seq: int | None = None
    """Order of writing, given by the store (sending follows it)."""


@dataclass(frozen=True, slots=True)
class DisabledEndpoint:
    """An endpoint that answered 410 Gone: nothing is sent to it while its URL is the same."""

    endpoint: str
    url_sha256: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class ForgottenRows:
    """What was deleted of an endpoint removed from the configuration."""

    waiting: int
    """Deliveries never made (they will not be: nothing sends to an endpoint that is not configured)."""
    done: int
    """Rows delivered, failed or dropped (each outcome was audited when it happened)."""
    disabled: bool
    """Whether its 410 record was deleted too."""


class WebhookDeliveries(Protocol):
    """Where deliveries wait (:class:`vigie.storage.webhooks.SqlWebhookDeliveries`)."""

    def add(self, deliveries: Sequence[WebhookDelivery]) -> None: ...

    def due(self, endpoint: str, now: datetime, limit: int) -> Sequence[WebhookDelivery]:
        """Waiting deliveries of ``endpoint`` whose next attempt is at or before ``now``, oldest first."""
        ...

    def next_due(self, endpoint: str) -> datetime | None:
        """When the earliest waiting delivery of ``endpoint`` is due; None when none waits."""
        ...

    def delivered(self, seq: int, attempts: int, at: datetime) -> None: ...

    def retry_at(self, seq: int, attempts: int, at: datetime, error: str) -> None:
        """An attempt failed: tried again at ``at``."""
        ...

    def failed(self, seq: int, attempts: int, at: datetime, error: str) -> None:
        """Given up."""
        ...

    def drop_waiting(self, endpoint: str, at: datetime, reason: str) -> int:
        """Every waiting delivery of ``endpoint`` dropped (the endpoint is disabled); how many."""
        ...

    def count_waiting(self, endpoint: str | None = None) -> int: ...

    def purge(self, done_before: datetime) -> int:
        """Forget deliveries delivered, failed or dropped before ``done_before``; how many."""
        ...

    def disabled(self, endpoint: str) -> DisabledEndpoint | None: ...

    def disable(self, disabled: DisabledEndpoint) -> None: ...

    def enable(self, endpoint: str) -> DisabledEndpoint | None:
        """Forget that ``endpoint`` was disabled (an administrator re-enables it); what was recorded, None when it
        was not."""
        ...

    def forget_endpoints(self, keep: Collection[str]) -> dict[str, ForgottenRows]:
        """Delete every delivery row, and the disabled record, of the endpoints not named in ``keep`` (removed from
        the configuration); what was deleted, per endpoint."""
        ...
