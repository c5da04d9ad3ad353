"""The ``mqtt_outbox`` table (implements :class:`vigie.domain.outbox.Outbox`, issue 21).

Messages are written by whoever produces them — the alert repository in the very transaction of a confirmation
(:func:`outbox_rows`), the health events by ``vigie serve``'s writer — and read by the one publisher of ``vigie
serve``, which marks them sent when the broker acknowledged them. Sent rows are purged after a while.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, Row, delete, func, insert, select, update
from sqlalchemy.orm import sessionmaker

from vigie.domain.outbox import OutboxMessage
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import MqttOutboxRow, require_aware

MARK_CHUNK = 500
"""Message ids per ``UPDATE … WHERE message_id IN (…)``: well under SQLite's limit of bound parameters."""


def outbox_values(messages: Sequence[OutboxMessage]) -> list[dict[str, object]]:
    """The columns of ``messages``, for one bulk ``INSERT`` (no ORM object per message: a burst of health events —
    every camera of a métropole losing its recording at once — is thousands of rows, ``bench/mqtt_throughput.py``)."""
    return [
        {
            "message_id": m.id,
            "topic": m.topic,
            "payload": m.payload,
            "retain": m.retain,
            "created_at": require_aware(m.created_at, "message.created_at"),
            "sent_at": None,
        }
        for m in messages
    ]


_COLUMNS = (
    MqttOutboxRow.message_id,
    MqttOutboxRow.topic,
    MqttOutboxRow.payload,
    MqttOutboxRow.created_at,
    MqttOutboxRow.retain,
    MqttOutboxRow.seq,
)


def outbox_rows(messages: Sequence[OutboxMessage]) -> list[MqttOutboxRow]:
    """Rows for ``messages``, to add to a session of the caller's transaction."""
    return [
        MqttOutboxRow(
            message_id=m.id,
            topic=m.topic,
            payload=m.payload,
            retain=m.retain,
            created_at=require_aware(m.created_at, "message.created_at"),
            sent_at=None,
        )
        for m in messages
    ]


class SqlOutbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(for_reading(engine), expire_on_commit=False)

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        if not messages:
            return
        with storage_errors(self._engine, f"keep {len(messages)} MQTT message(s)"), self._write.begin() as session:
            session.execute(insert(MqttOutboxRow), outbox_values(messages))

    def unsent(self, limit: int, *, after_seq: int = 0) -> list[OutboxMessage]:
        query = (
            select(*_COLUMNS)
            .where(MqttOutboxRow.sent_at.is_(None), MqttOutboxRow.seq > after_seq)
            .order_by(MqttOutboxRow.seq)
            .limit(max(1, limit))
        )
        with storage_errors(self._engine, "read the MQTT messages to publish"), self._read.begin() as session:
            return [_message(row) for row in session.execute(query)]

    def mark_sent(self, ids: Sequence[str], at: datetime) -> int:
        when = require_aware(at, "at")
        marked = 0
        with storage_errors(self._engine, f"mark {len(ids)} MQTT message(s) sent"), self._write.begin() as session:
            for start in range(0, len(ids), MARK_CHUNK):
                chunk = list(ids[start : start + MARK_CHUNK])
                result = session.execute(
                    update(MqttOutboxRow)
                    .where(MqttOutboxRow.message_id.in_(chunk), MqttOutboxRow.sent_at.is_(None))
                    .values(sent_at=when)
                )
                marked += int(getattr(result, "rowcount", 0) or 0)
        return marked

    def sent_since(self, since: datetime, limit: int) -> list[OutboxMessage]:
        query = (
            select(*_COLUMNS)
            .where(MqttOutboxRow.sent_at >= require_aware(since, "since"))
            .order_by(MqttOutboxRow.seq)
            .limit(max(1, limit))
        )
        with storage_errors(self._engine, "read the MQTT messages sent lately"), self._read.begin() as session:
            return [_message(row) for row in session.execute(query)]

    def purge(self, sent_before: datetime) -> int:
        before = require_aware(sent_before, "sent_before")
        with storage_errors(self._engine, "purge the MQTT messages sent"), self._write.begin() as session:
            result = session.execute(delete(MqttOutboxRow).where(MqttOutboxRow.sent_at < before))
            return int(getattr(result, "rowcount", 0) or 0)

    def count_unsent(self) -> int:
        """Messages waiting for the broker (the health view, the tests)."""
        query = select(func.count()).select_from(MqttOutboxRow).where(MqttOutboxRow.sent_at.is_(None))
        with storage_errors(self._engine, "count the MQTT messages to publish"), self._read.begin() as session:
            return int(session.scalar(query) or 0)


def _message(row: Row[str, str, bytes, datetime, bool, int]) -> OutboxMessage:
    message_id, topic, payload, created_at, retain, seq = row
    return OutboxMessage(
        id=message_id, topic=topic, payload=bytes(payload), created_at=created_at, retain=retain, seq=seq
    )
