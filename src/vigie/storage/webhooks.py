"""The ``webhook_deliveries`` table (implements :class:`vigie.domain.webhooks.WebhookDeliveries`, issue 21).

Deliveries are written by whoever produces them — the alert repository in the very transaction of a confirmation
(:func:`webhook_rows`), health events by ``vigie serve``'s writer — and read by the sender of each endpoint, which
records each attempt's outcome. Rows no longer waiting are purged after a while.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import sessionmaker

from vigie.domain.webhooks import DeliveryState, DisabledEndpoint, ForgottenRows, WebhookDelivery
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import WebhookDeliveryRow, WebhookEndpointDisabledRow, require_aware

MAX_ERROR = 500


def webhook_rows(deliveries: Sequence[WebhookDelivery]) -> list[WebhookDeliveryRow]:
    """Rows for ``deliveries``, to add to a session of the caller's transaction."""
    return [
        WebhookDeliveryRow(
            message_id=d.message_id,
            endpoint=d.endpoint,
            kind=d.kind,
            payload=d.payload,
            created_at=require_aware(d.created_at, "delivery.created_at"),
            next_attempt_at=require_aware(d.next_attempt_at, "delivery.next_attempt_at"),
            attempts=d.attempts,
            state=d.state.value,
            last_error=d.last_error[:MAX_ERROR],
            done_at=None,
        )
        for d in deliveries
    ]


class SqlWebhookDeliveries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def add(self, deliveries: Sequence[WebhookDelivery]) -> None:
        if not deliveries:
            return
        with storage_errors(self._engine, f"keep {len(deliveries)} webhook(s)"), self._write.begin() as session:
            session.add_all(webhook_rows(deliveries))

    def due(self, endpoint: str, now: datetime, limit: int) -> list[WebhookDelivery]:
        query = (
            select(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.endpoint == endpoint,
                WebhookDeliveryRow.state == DeliveryState.WAITING.value,
                WebhookDeliveryRow.next_attempt_at <= require_aware(now, "now"),
            )
            .order_by(WebhookDeliveryRow.seq)
            .limit(max(1, limit))
        )
        with storage_errors(self._engine, f"read the webhooks due to {endpoint}"), self._read.begin() as session:
            return [_delivery(row) for row in session.scalars(query)]

    def next_due(self, endpoint: str) -> datetime | None:
        query = select(func.min(WebhookDeliveryRow.next_attempt_at)).where(
            WebhookDeliveryRow.endpoint == endpoint, WebhookDeliveryRow.state == DeliveryState.WAITING.value
        )
        with storage_errors(self._engine, f"read when webhooks are due to {endpoint}"), self._read.begin() as session:
            return session.scalar(query)

    def delivered(self, seq: int, attempts: int, at: datetime) -> None:
        self._set(seq, attempts=attempts, state=DeliveryState.DELIVERED.value, done_at=require_aware(at, "at"))

    def retry_at(self, seq: int, attempts: int, at: datetime, error: str) -> None:
        self._set(seq, attempts=attempts, next_attempt_at=require_aware(at, "at"), last_error=error[:MAX_ERROR])

    def failed(self, seq: int, attempts: int, at: datetime, error: str) -> None:
        self._set(
            seq,
            attempts=attempts,
            state=DeliveryState.FAILED.value,
            done_at=require_aware(at, "at"),
            last_error=error[:MAX_ERROR],
        )

    def _set(self, seq: int, **values: object) -> None:
        with storage_errors(self._engine, f"record webhook delivery {seq}"), self._write.begin() as session:
            session.execute(update(WebhookDeliveryRow).where(WebhookDeliveryRow.seq == seq).values(**values))

    def drop_waiting(self, endpoint: str, at: datetime, reason: str) -> int:
        statement = (
            update(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.endpoint == endpoint, WebhookDeliveryRow.state == DeliveryState.WAITING.value)
            .values(state=DeliveryState.DROPPED.value, done_at=require_aware(at, "at"), last_error=reason[:MAX_ERROR])
        )
        with storage_errors(self._engine, f"drop the webhooks of {endpoint}"), self._write.begin() as session:
            return int(getattr(session.execute(statement), "rowcount", 0) or 0)

    def count_waiting(self, endpoint: str | None = None) -> int:
        query = (
            select(func.count())
            .select_from(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.state == DeliveryState.WAITING.value)
        )
        if endpoint is not None:
            query = query.where(WebhookDeliveryRow.endpoint == endpoint)
        with storage_errors(self._engine, "count the webhooks waiting"), self._read.begin() as session:
            return int(session.scalar(query) or 0)

    def states(self, endpoint: str) -> list[WebhookDelivery]:
        """Every delivery of ``endpoint``, oldest first (the tests, an investigation)."""
        query = (
            select(WebhookDeliveryRow).where(WebhookDeliveryRow.endpoint == endpoint).order_by(WebhookDeliveryRow.seq)
        )
        with storage_errors(self._engine, f"read the webhooks of {endpoint}"), self._read.begin() as session:
            return [_delivery(row) for row in session.scalars(query)]

    def purge(self, done_before: datetime) -> int:
        before = require_aware(done_before, "done_before")
        with storage_errors(self._engine, "purge the webhooks sent"), self._write.begin() as session:
            result = session.execute(delete(WebhookDeliveryRow).where(WebhookDeliveryRow.done_at < before))
            return int(getattr(result, "rowcount", 0) or 0)

    def disabled(self, endpoint: str) -> DisabledEndpoint | None:
        with storage_errors(self._engine, f"read whether {endpoint} is disabled"), self._read.begin() as session:
            row = session.get(WebhookEndpointDisabledRow, endpoint)
            return None if row is None else DisabledEndpoint(row.endpoint, row.url_sha256, row.at, row.reason)

    def disable(self, disabled: DisabledEndpoint) -> None:
        with storage_errors(self._engine, f"disable {disabled.endpoint}"), self._write.begin() as session:
            row = session.get(WebhookEndpointDisabledRow, disabled.endpoint)
            if row is None:
                row = WebhookEndpointDisabledRow(endpoint=disabled.endpoint)
                session.add(row)
            row.url_sha256, row.at = disabled.url_sha256, require_aware(disabled.at, "at")
            row.reason = disabled.reason[:MAX_ERROR]

    def enable(self, endpoint: str) -> DisabledEndpoint | None:
        with storage_errors(self._engine, f"enable {endpoint}"), self._write.begin() as session:
            row = session.get(WebhookEndpointDisabledRow, endpoint)
            if row is None:
                return None
            known = DisabledEndpoint(row.endpoint, row.url_sha256, row.at, row.reason)
            session.delete(row)
            return known

    def forget_endpoints(self, keep: Collection[str]) -> dict[str, ForgottenRows]:
        kept = list(keep)
        waiting = WebhookDeliveryRow.state == DeliveryState.WAITING.value
        counts = (
            select(WebhookDeliveryRow.endpoint, waiting, func.count())
            .where(WebhookDeliveryRow.endpoint.not_in(kept))
            .group_by(WebhookDeliveryRow.endpoint, waiting)
        )
        disabled = select(WebhookEndpointDisabledRow.endpoint).where(WebhookEndpointDisabledRow.endpoint.not_in(kept))
        with storage_errors(self._engine, "forget the webhooks of removed endpoints"), self._write.begin() as session:
            tally: dict[str, list[int]] = {}
            for endpoint, is_waiting, count in session.execute(counts):
                tally.setdefault(endpoint, [0, 0])[0 if is_waiting else 1] += int(count)
            gone = set(session.scalars(disabled))
            session.execute(delete(WebhookDeliveryRow).where(WebhookDeliveryRow.endpoint.not_in(kept)))
            session.execute(delete(WebhookEndpointDisabledRow).where(WebhookEndpointDisabledRow.endpoint.not_in(kept)))
        return {
            name: ForgottenRows(
                waiting=tally.get(name, [0, 0])[0], done=tally.get(name, [0, 0])[1], disabled=name in gone
            )
            for name in sorted(set(tally) | gone)
        }


def _delivery(row: WebhookDeliveryRow) -> WebhookDelivery:
    return WebhookDelivery(
        message_id=row.message_id,
        endpoint=row.endpoint,
        kind=row.kind,
        payload=bytes(row.payload),
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        attempts=row.attempts,
        state=DeliveryState(row.state),
        last_error=row.last_error,
        seq=row.seq,
    )
