"""The MQTT outbox (issue 21) on SQLite and PostgreSQL: a confirmation and its message commit together or not at
all, nothing is written for a dismissal, messages are read in order and marked sent once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from vigie.domain.alerts import Alert, AlertState, Verdict
from vigie.domain.geometry import Box
from vigie.domain.outbox import OutboxMessage
from vigie.storage import SqlAlertRepo, StorageError
from vigie.storage.outbox import SqlOutbox

T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)


def alert() -> Alert:
    return Alert("cam-1", "intrusion", "intrusion", T0, Box(0.1, 0.2, 0.3, 0.4), 0.87, "yolox@sha256:ab")


def message(n: int, topic: str = "vigie/testville/alerts") -> OutboxMessage:
    return OutboxMessage(f"00000000-0000-4000-8000-{n:012d}", topic, b'{"n": %d}' % n, T0)


def test_a_confirmation_writes_its_message_in_its_transaction(db: Engine) -> None:
    seen: list[Alert] = []

    def confirmed(decided: Alert) -> list[OutboxMessage]:
        seen.append(decided)
        return [message(len(seen))]

    repo, outbox = SqlAlertRepo(db, on_confirmed=confirmed), SqlOutbox(db)
    dismissed, kept = repo.add(alert()), repo.add(alert())
    assert dismissed.id is not None and kept.id is not None
    repo.decide(dismissed.id, Verdict.FALSE_POSITIVE, by="a", role="operator", at=T0)
    assert outbox.unsent(10) == [] and seen == [], "a dismissal writes nothing (L28)"
    repo.decide(kept.id, Verdict.CONFIRMED, by="a", role="operator", at=T0)
    assert [m.id for m in outbox.unsent(10)] == [message(1).id]
    assert seen[0].state is AlertState.CONFIRMED and seen[0].id == kept.id


def test_a_message_that_cannot_be_written_undoes_the_confirmation(db: Engine) -> None:
    SqlOutbox(db).add([message(1)])
    repo = SqlAlertRepo(db, on_confirmed=lambda _alert: [message(1)])  # the same id again: refused by the table
    stored = repo.add(alert())
    assert stored.id is not None
    with pytest.raises(StorageError):
        repo.decide(stored.id, Verdict.CONFIRMED, by="a", role="operator", at=T0)
    assert repo.get(stored.id) == stored, "the verdict and its message commit together, or neither does"


def test_unsent_in_order_marked_once_resent_window_and_purge(db: Engine) -> None:
    outbox = SqlOutbox(db)
    outbox.add([message(n) for n in range(1, 6)])
    first = outbox.unsent(3)
    assert [m.id for m in first] == [message(n).id for n in (1, 2, 3)]
    assert [m.id for m in outbox.unsent(10, after_seq=first[-1].seq or 0)] == [message(4).id, message(5).id]
    assert outbox.mark_sent([first[0].seq or 0, first[1].seq or 0], T0) == 2
    assert outbox.mark_sent([first[0].seq or 0], T0 + timedelta(seconds=5)) == 0, "sent once"
    assert outbox.count_unsent() == 3
    assert [m.id for m in outbox.sent_since(T0, 10)] == [message(1).id, message(2).id]
    assert outbox.sent_since(T0 + timedelta(seconds=1), 10) == []
    assert outbox.unsent(10)[0].payload == b'{"n": 3}'
    assert outbox.purge(T0 + timedelta(days=1)) == 2
    assert outbox.count_unsent() == 3, "unsent messages are never purged"
