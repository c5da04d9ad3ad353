"""The ``mqtt_outbox`` table (implements :class:`vigie.domain.outbox.Outbox`, issue 21).

Messages are written by whoever produces them — the alert repository in the very transaction of a confirmation
(:func:`outbox_values`), the health events by ``vigie serve``'s writer — and read by the one publisher of ``vigie
serve``, which marks them sent when the broker acknowledged them. Sent rows are purged after a while.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Engine, Row, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import sessionmaker

from vigie.domain.outbox import OutboxMessage
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import MqttOutboxRow, require_aware

MARK_CHUNK = 500
"""Sequence numbers per ``UPDATE … WHERE seq IN (…)``: well under SQLite's limit of bound parameters."""


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
        }  # sent_at: NULL, the column's default
        for m in messages
    ]


_TABLE = cast(Table, MqttOutboxRow.__table__)  # a declarative class's table is a Table
_COLUMNS = (_TABLE.c.message_id, _TABLE.c.topic, _TABLE.c.payload, _TABLE.c.created_at, _TABLE.c.retain, _TABLE.c.seq)
_UNSENT = (
    select(*_COLUMNS)
    .where(_TABLE.c.sent_at.is_(None), _TABLE.c.seq > bindparam("after_seq"))
    .order_by(_TABLE.c.seq)
    .limit(bindparam("limit"))
)
"""The publisher's read, on the ``(sent_at, seq)`` index. Core statements on a connection, no ORM session: at thousands
of messages a second the session's bookkeeping cost more than the query (``bench/mqtt_throughput.py``)."""


class SqlOutbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = for_reading(engine)
        self._write = sessionmaker(engine, expire_on_commit=False)
        self._read = sessionmaker(self._reader, expire_on_commit=False)

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        if not messages:
            return
        with storage_errors(self._engine, f"keep {len(messages)} MQTT message(s)"), self._engine.begin() as conn:
            conn.execute(insert(_TABLE), outbox_values(messages))

    def unsent(self, limit: int, *, after_seq: int = 0) -> list[OutboxMessage]:
        with storage_errors(self._engine, "read the MQTT messages to publish"), self._reader.connect() as conn:
            rows = conn.execute(_UNSENT, {"after_seq": after_seq, "limit": max(1, limit)})
            return [_message(row) for row in rows]

    def mark_sent(self, seqs: Sequence[int], at: datetime) -> int:
        """By ``seq``, the table's primary key (by ``message_id``, SQLite's planner took the ``(sent_at, seq)``
        index and scanned every unsent row for each statement: 60 µs a message against 13)."""
        when = require_aware(at, "at")
        marked = 0
        with storage_errors(self._engine, f"mark {len(seqs)} MQTT message(s) sent"), self._engine.begin() as conn:
            for start in range(0, len(seqs), MARK_CHUNK):
                chunk = list(seqs[start : start + MARK_CHUNK])
                result = conn.execute(
                    update(_TABLE).where(_TABLE.c.seq.in_(chunk), _TABLE.c.sent_at.is_(None)).values(sent_at=when)
                )
                marked += int(getattr(result, "rowcount", 0) or 0)
        return marked

    def sent_since(self, since: datetime, limit: int) -> list[OutboxMessage]:
        """The latest ``limit`` (those the broker may not have saved yet), oldest first."""
        query = (
            select(*_COLUMNS)
            .where(_TABLE.c.sent_at >= require_aware(since, "since"))
            .order_by(_TABLE.c.seq.desc())
            .limit(max(1, limit))
        )
        with storage_errors(self._engine, "read the MQTT messages sent lately"), self._reader.connect() as conn:
            return [_message(row) for row in reversed(conn.execute(query).all())]

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
