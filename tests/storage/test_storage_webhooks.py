"""The webhook deliveries (issue 21) on SQLite and PostgreSQL: a confirmation and its deliveries commit together or
not at all, nothing is written for a dismissal; deliveries come due in order, and each outcome is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from vigie.domain.alerts import Alert, Verdict
from vigie.domain.geometry import Box
from vigie.domain.webhooks import DeliveryState, DisabledEndpoint, ForgottenRows, WebhookDelivery
from vigie.storage import SqlAlertRepo, StorageError
from vigie.storage.webhooks import SqlWebhookDeliveries

T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)


def alert() -> Alert:
    return Alert("cam-1", "intrusion", "intrusion", T0, Box(0.1, 0.2, 0.3, 0.4), 0.87, "yolox@sha256:ab")


def delivery(n: int, endpoint: str = "dispatch", due: datetime = T0) -> WebhookDelivery:
    return WebhookDelivery(f"00000000-0000-4000-8000-{n:012d}", endpoint, "alert.confirmed", b'{"n": %d}' % n, T0, due)


def test_a_confirmation_writes_its_deliveries_in_its_transaction(db: Engine) -> None:
    repo = SqlAlertRepo(db, webhooks_of=lambda _alert: [delivery(1), delivery(1, "other")])
    store = SqlWebhookDeliveries(db)
    dismissed, kept = repo.add(alert()), repo.add(alert())
    assert dismissed.id is not None and kept.id is not None
    repo.decide(dismissed.id, Verdict.FALSE_POSITIVE, by="a", role="operator", at=T0)
    assert store.count_waiting() == 0, "a dismissal writes nothing (L28)"
    repo.decide(kept.id, Verdict.CONFIRMED, by="a", role="operator", at=T0)
    assert store.count_waiting("dispatch") == 1 and store.count_waiting("other") == 1


def test_a_delivery_that_cannot_be_written_undoes_the_confirmation(db: Engine) -> None:
    SqlWebhookDeliveries(db).add([delivery(1)])
    repo = SqlAlertRepo(db, webhooks_of=lambda _alert: [delivery(1)])  # the same id to the same endpoint: refused
    stored = repo.add(alert())
    assert stored.id is not None
    with pytest.raises(StorageError):
        repo.decide(stored.id, Verdict.CONFIRMED, by="a", role="operator", at=T0)
    assert repo.get(stored.id) == stored, "the verdict and its deliveries commit together, or neither does"


def test_due_in_order_and_each_outcome_recorded(db: Engine) -> None:
    store = SqlWebhookDeliveries(db)
    later = T0 + timedelta(minutes=1)
    store.add([delivery(1), delivery(2, due=later), delivery(3), delivery(4, "other")])
    due = store.due("dispatch", T0, 10)
    assert [d.message_id for d in due] == [delivery(1).message_id, delivery(3).message_id]
    assert store.next_due("dispatch") == T0 and store.next_due("nobody") is None
    first, third = (d.seq or 0 for d in due)
    store.retry_at(first, 1, T0 + timedelta(seconds=30), "HTTP 500")
    store.delivered(third, 1, T0)
    assert [d.message_id for d in store.due("dispatch", T0 + timedelta(seconds=30), 10)] == [delivery(1).message_id]
    [retried] = store.due("dispatch", T0 + timedelta(seconds=30), 1)
    assert (retried.attempts, retried.last_error) == (1, "HTTP 500")
    store.failed(first, 2, T0 + timedelta(seconds=31), "HTTP 500")
    assert store.drop_waiting("dispatch", later, "endpoint disabled (410 Gone)") == 1
    assert [d.state for d in store.states("dispatch")] == [
        DeliveryState.FAILED,
        DeliveryState.DROPPED,
        DeliveryState.DELIVERED,
    ]
    assert store.count_waiting() == 1, "the other endpoint's delivery waits"
    assert store.purge(T0 + timedelta(days=1)) == 3 and store.count_waiting() == 1, "waiting rows are never purged"


def test_an_endpoint_disabled_is_remembered_with_its_url(db: Engine) -> None:
    store = SqlWebhookDeliveries(db)
    assert store.disabled("dispatch") is None
    store.disable(DisabledEndpoint("dispatch", "a" * 64, T0, "the receiver answered 410 Gone"))
    store.disable(DisabledEndpoint("dispatch", "b" * 64, later := T0 + timedelta(hours=1), "again"))
    assert store.disabled("dispatch") == DisabledEndpoint("dispatch", "b" * 64, later, "again")


def test_an_endpoint_re_enabled_is_forgotten_as_disabled(db: Engine) -> None:
    store = SqlWebhookDeliveries(db)
    assert store.enable("dispatch") is None, "nothing to re-enable"
    gone = DisabledEndpoint("dispatch", "a" * 64, T0, "the receiver answered 410 Gone")
    store.disable(gone)
    assert store.enable("dispatch") == gone and store.disabled("dispatch") is None


def test_the_rows_of_endpoints_no_longer_configured_are_deleted_with_counts(db: Engine) -> None:
    store = SqlWebhookDeliveries(db)
    store.add([delivery(1, "old-crm"), delivery(2, "old-crm"), delivery(3, "old-crm"), delivery(4), delivery(5, "x")])
    [first, *_] = store.due("old-crm", T0, 10)
    store.delivered(first.seq or 0, 1, T0)
    store.disable(DisabledEndpoint("old-crm", "a" * 64, T0, "410"))
    store.disable(DisabledEndpoint("dispatch", "b" * 64, T0, "410"))
    forgotten = store.forget_endpoints(["dispatch"])
    assert forgotten == {
        "old-crm": ForgottenRows(waiting=2, done=1, disabled=True),
        "x": ForgottenRows(waiting=1, done=0, disabled=False),
    }
    assert store.states("old-crm") == [] and store.states("x") == [] and store.disabled("old-crm") is None
    assert [d.message_id for d in store.states("dispatch")] == [delivery(4).message_id], "a configured one is kept"
    assert store.disabled("dispatch") is not None
    assert store.forget_endpoints(["dispatch"]) == {}, "nothing left to forget"
    assert store.forget_endpoints([]) == {"dispatch": ForgottenRows(waiting=1, done=0, disabled=True)}, "none kept"
    assert store.states("dispatch") == [] and store.disabled("dispatch") is None
