"""The webhook sender (issue 21) against a real HTTP receiver that checks every signature: alerts confirmed through
the real alert store (SQLite), deliveries sent by rounds of the sender under an injected clock — no test waits for a
backoff in real time."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import Engine

from tests.support.audit_sinks import ListAudit
from tests.support.clocks import T0, FakeClock
from tests.support.configs import camera_data
from tests.support.tls import loopback_certificate
from tests.support.waiting import wait_for
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver
from vigie.config.models import VigieConfig
from vigie.devices.webhooks.bridge import WebhookBridge
from vigie.devices.webhooks.sender import WebhookSender
from vigie.devices.webhooks.signing import decode_secret
from vigie.domain.alerts import Alert, AlertState, Verdict
from vigie.domain.audit import AuditAction
from vigie.domain.camera import StreamAlarm, StreamAlarmKind
from vigie.domain.geometry import Box
from vigie.domain.webhooks import DeliveryState
from vigie.runtime.assembly.webhooks import tls_context
from vigie.storage import SqlAlertRepo
from vigie.storage.database import create_engine_for, migrate
from vigie.storage.webhooks import SqlWebhookDeliveries

SECRET = "whsec_" + base64.b64encode(bytes(range(7, 39))).decode()
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def schema(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return document


class Rig:
    """The alert store, the deliveries, a bridge and the sender of one endpoint, on one SQLite file."""

    def __init__(self, engine: Engine, receiver: WebhookReceiver, clock: FakeClock, **endpoint: Any) -> None:
        self.engine, self.receiver, self.clock = engine, receiver, clock
        self.config = VigieConfig.model_validate(
            {
                "version": 1,
                "webhooks": {
                    "enabled": True,
                    "endpoints": [
                        {
                            "name": "dispatch",
                            "url": receiver.url,
                            "communes": ["villeurbanne"],
                            "secret_env": "VIGIE_TEST_WEBHOOK_SECRET",
                            "max_attempts": 4,
                            **endpoint,
                        }
                    ],
                },
                "communes": [
                    {
                        "id": "villeurbanne",
                        "name": "Villeurbanne",
                        "kind": "municipal",
                        "sites": [{"id": "gratte-ciel", "name": "Gratte-Ciel", "cameras": [camera_data()]}],
                    }
                ],
            }
        )
        self.deliveries = SqlWebhookDeliveries(engine)
        self.audit = ListAudit()
        self.sender = self.new_sender()
        self.bridge = WebhookBridge(
            self.config.webhooks, self.config.placements(), self.deliveries, [self.sender], clock
        )
        self.alerts = SqlAlertRepo(engine, webhooks_of=self.bridge.confirmed)

    def new_sender(self) -> WebhookSender:
        """A sender as a new run of `vigie serve` makes it (nothing in memory from the previous one)."""
        endpoint = self.config.webhooks.endpoints[0]
        return WebhookSender(endpoint, decode_secret(SECRET), self.deliveries, self.audit, self.clock, draw=lambda: 1.0)

    def alert(self, verdict: Verdict | None = Verdict.CONFIRMED) -> int:
        alert = self.alerts.add(
            Alert(
                "cam-001", "abandoned_object", "abandoned_object", self.clock(), Box(0.4, 0.6, 0.05, 0.07), 0.91, "m1"
            )
        )
        assert alert.id is not None
        if verdict is not None:
            self.alerts.decide(alert.id, verdict, by="agent.dupont", role="operator", at=self.clock(), note="M. Martin")
        return alert.id

    def rows(self) -> list[tuple[DeliveryState, int]]:
        return [(d.state, d.attempts) for d in self.deliveries.states("dispatch")]

    def audited(self, action: AuditAction) -> list[dict[str, Any]]:
        return [dict(e.details) for e in self.audit.events if e.action == action]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def receiver(clock: FakeClock) -> Iterator[WebhookReceiver]:
    with webhook_receiver(SECRET, now=lambda: clock().timestamp()) as running:
        yield running


def test_a_confirmed_alert_is_delivered_once_signed_and_audited(
    engine: Engine, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    rig = Rig(engine, receiver, clock)
    rig.alert(verdict=None)  # pending
    rig.alert(verdict=Verdict.FALSE_POSITIVE)  # dismissed
    confirmed = rig.alert()
    assert rig.deliveries.count_waiting() == 1, "only the confirmation wrote a delivery (L28)"
    assert rig.sender.run_once() == 1
    assert rig.sender.run_once() == 0, "delivered: never sent again"
    [got] = receiver.received
    assert got.verified, got.problem
    assert got.headers["webhook-id"] == got.payload["id"]
    assert got.headers["content-type"] == "application/json"
    jsonschema.validate(got.payload, schema("webhook-alert-confirmed.json"))
    assert got.payload["alert"]["id"] == confirmed and got.payload["commune"] == "villeurbanne"
    assert "agent.dupont" not in got.body.decode() and "Martin" not in got.body.decode(), "no person, no note"
    assert rig.rows() == [(DeliveryState.DELIVERED, 1)]
    [entry] = rig.audited(AuditAction.WEBHOOK_DELIVERED)
    assert entry["endpoint"] == "dispatch" and entry["alert_id"] == confirmed and entry["status"] == 204
    assert entry["url"] == receiver.url and entry["attempts"] == 1


def test_a_failure_is_retried_after_the_backoff_then_delivered(
    engine: Engine, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    rig = Rig(engine, receiver, clock, backoff_initial_s=30)
    rig.alert()
    rig.alert()
    receiver.answer(500)
    assert rig.sender.run_once() == 1, "a failure pauses the endpoint: the second alert is not tried meanwhile"
    assert rig.rows() == [(DeliveryState.WAITING, 1), (DeliveryState.WAITING, 0)]
    clock.advance(seconds=29)
    assert rig.sender.run_once() == 0, "not before its backoff"
    clock.advance(seconds=1)
    assert rig.sender.run_once() == 2
    assert rig.rows() == [(DeliveryState.DELIVERED, 2), (DeliveryState.DELIVERED, 1)]
    first, again, _ = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"], "the same id at every attempt"
    assert int(again.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 30
    assert all(r.verified for r in receiver.received)
    assert [e["attempts"] for e in rig.audited(AuditAction.WEBHOOK_DELIVERED)] == [2, 1]


def test_the_backoff_doubles_and_the_messages_are_given_up_after_max_attempts(
    engine: Engine, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    rig = Rig(engine, receiver, clock, backoff_initial_s=10, max_attempts=4)
    rig.alert()
    waits = []
    for _ in range(4):
        receiver.answer(502)
        before = clock()
        assert rig.sender.run_once() == 1
        due = rig.deliveries.next_due("dispatch")
        if due is not None:
            waits.append((due - before).total_seconds())
            clock.advance(due - before)
    assert waits == [10, 20, 40], "doubled at each attempt (the jitter drawn at its top here)"
    assert rig.rows() == [(DeliveryState.FAILED, 4)]
    [entry] = rig.audited(AuditAction.WEBHOOK_FAILED)
    assert entry["attempts"] == 4 and entry["error"] == "HTTP 502" and entry["status"] == 502


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(engine: Engine, receiver: WebhookReceiver, clock: FakeClock, status: int) -> None:
    rig = Rig(engine, receiver, clock, backoff_initial_s=5)
    rig.alert()
    receiver.answer(status, retry_after="120")
    rig.sender.run_once()
    clock.advance(seconds=119)
    assert rig.sender.run_once() == 0, "the receiver asked for 120 s, not the 5 s of the backoff"
    clock.advance(seconds=1)
    assert rig.sender.run_once() == 1
    assert rig.rows() == [(DeliveryState.DELIVERED, 2)]


def test_410_gone_disables_the_endpoint_for_its_url(
    engine: Engine, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    rig = Rig(engine, receiver, clock)
    rig.alert()
    rig.alert()
    receiver.answer(410)
    rig.sender.run_once()
    assert rig.rows() == [(DeliveryState.FAILED, 1), (DeliveryState.DROPPED, 0)]
    [entry] = rig.audited(AuditAction.WEBHOOK_DISABLED)
    assert entry["endpoint"] == "dispatch" and entry["dropped"] == 1
    # after a restart of the service: still disabled; what is confirmed meanwhile is dropped, never sent
    rig.sender = restarted = rig.new_sender()
    rig.alert()
    clock.advance(hours=1)
    assert restarted.run_once() == 0 and restarted.disabled is not None
    assert len(receiver.received) == 1
    assert rig.deliveries.count_waiting() == 0


def test_deliveries_left_by_a_stopped_sender_are_sent_by_the_next_one(
    engine: Engine, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    """A restart of `vigie serve`: the rows are the only memory; the threads are the production ones."""
    rig = Rig(engine, receiver, clock, backoff_initial_s=60)
    for _ in range(3):
        rig.alert()
    receiver.answer(500)
    rig.sender.run_once()
    rig.sender.close()  # the service stops with three deliveries waiting
    assert rig.deliveries.count_waiting() == 3
    clock.advance(minutes=1)
    after = rig.new_sender()
    after.start()
    try:
        wait_for(lambda: rig.deliveries.count_waiting() == 0, 10, "the waiting deliveries sent after the restart")
    finally:
        after.close()
    delivered = [r.payload["alert"]["id"] for r in receiver.verified()[1:]]
    assert sorted(delivered) == [1, 2, 3] and len(delivered) == 3, "each once, in the order written"


def test_no_secret_and_no_query_string_in_logs_or_audit(
    engine: Engine, receiver: WebhookReceiver, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    rig = Rig(engine, receiver, clock, url=receiver.url + "?token=do-not-show-me")
    rig.alert()
    receiver.answer(500)
    with caplog.at_level(logging.DEBUG):
        rig.sender.run_once()
        clock.advance(minutes=5)
        rig.sender.run_once()
    assert receiver.received[-1].path.endswith("?token=do-not-show-me"), "the receiver gets its URL whole"
    recorded = json.dumps([dict(e.details) for e in rig.audit.events]) + caplog.text
    assert "do-not-show-me" not in recorded and SECRET not in recorded and SECRET[6:] not in recorded
    assert rig.audited(AuditAction.WEBHOOK_DELIVERED)[0]["url"] == receiver.url


def test_health_events_go_to_endpoints_taking_them(engine: Engine, receiver: WebhookReceiver, clock: FakeClock) -> None:
    rig = Rig(engine, receiver, clock)
    rig.bridge.observe(StreamAlarm(StreamAlarmKind.FROZEN_PICTURE, "cam-001", clock(), "the picture no longer changes"))
    rig.sender.run_once()
    [got] = receiver.verified()
    jsonschema.validate(got.payload, schema("webhook-health.json"))
    assert got.payload["event"] == "stream_alarm_raised" and got.payload["alarm"] == "frozen_picture"
    # an endpoint taking confirmed alerts only is sent no health event
    alerts_only = Rig(engine, receiver, clock, name="alerts-only", kinds=["alert.confirmed"])
    alerts_only.bridge.observe(StreamAlarm(StreamAlarmKind.FROZEN_PICTURE, "cam-001", clock(), "", cleared=True))
    assert alerts_only.deliveries.count_waiting("alerts-only") == 0


def test_a_pending_alert_makes_no_delivery_even_when_asked(
    engine: Engine, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    rig = Rig(engine, receiver, clock)
    pending = Alert(
        "cam-001", "intrusion", "intrusion", clock(), Box(0, 0, 1, 1), 0.5, "m1", state=AlertState.PENDING, id=9
    )
    assert rig.bridge.confirmed(pending) == []


def test_after_a_message_is_given_up_the_next_waits_like_a_retry(
    engine: Engine, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    """A receiver failing the last attempt of one message is not sent every other waiting message at once."""
    rig = Rig(engine, receiver, clock, max_attempts=1, backoff_initial_s=15)
    rig.alert()
    rig.alert()
    receiver.answer(500)
    assert rig.sender.run_once() == 1
    assert rig.rows() == [(DeliveryState.FAILED, 1), (DeliveryState.WAITING, 0)]
    clock.advance(seconds=14)
    assert rig.sender.run_once() == 0
    clock.advance(seconds=1)
    assert rig.sender.run_once() == 1
    assert rig.rows() == [(DeliveryState.FAILED, 1), (DeliveryState.DELIVERED, 1)]


def test_https_checks_the_receivers_certificate(tmp_path: Path, engine: Engine, clock: FakeClock) -> None:
    """Against an HTTPS receiver whose certificate no system authority signed: refused without its `ca_file`
    (an attempt failed, nothing sent), delivered with it."""
    certificate = loopback_certificate(tmp_path / "tls")
    with webhook_receiver(SECRET, now=lambda: clock().timestamp(), certificate=certificate) as receiver:
        untrusted = Rig(engine, receiver, clock, name="untrusted")
        untrusted.alert()
        assert untrusted.sender.run_once() == 1
        assert receiver.received == [] and untrusted.rows() == []  # its rows are under its own name
        [waiting] = untrusted.deliveries.states("untrusted")
        assert waiting.attempts == 1 and "the receiver's certificate was refused" in waiting.last_error
        trusted = Rig(engine, receiver, clock, name="trusted", ca_file=str(certificate.certificate_file))
        trusted.sender = WebhookSender(
            trusted.config.webhooks.endpoints[0],
            decode_secret(SECRET),
            trusted.deliveries,
            trusted.audit,
            clock,
            tls=tls_context(trusted.config.webhooks.endpoints[0]),
        )
        trusted.alert()
        assert trusted.sender.run_once() == 1
        [got] = receiver.verified()
        assert got.payload["type"] == "alert.confirmed"
