"""Webhooks (issue 21) as ``vigie serve`` runs them: the service built from a configuration with a ``webhooks``
section (the production composition), its senders started with it, against a real HTTP receiver that checks every
signature. A confirmed alert is delivered once and audited, pending and dismissed ones never; a stream alarm is a
health event; what could not be delivered before a stop is delivered after the next start; a secret that is not
set or malformed stops the start with the variable named and the secret never shown."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.clocks import FakeClock
from tests.support.configs import camera_yaml, config_yaml
from tests.support.servers import free_port
from tests.support.waiting import wait_for
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver
from vigie.config import load_config_text
from vigie.domain.actor import Actor
from vigie.domain.alerts import Verdict
from vigie.domain.audit import AuditAction
from vigie.domain.camera import StreamAlarm, StreamAlarmKind
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.runtime.assembly.service import ServiceError, VigieService
from vigie.storage import SqlAuditStore
from vigie.storage.database import create_engine_for

SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
SECRET_ENV = "VIGIE_TEST_WEBHOOK_SECRET"
OPERATOR = Actor("agent.dupont", "operator", "testville")
TOKEN = "m" * 40


def config_text(tmp_path: Path, url: str, *, extra: str = "") -> str:
    (tmp_path / "metrics.token").write_text(TOKEN)
    webhooks = f"""webhooks:
  enabled: true
  endpoints:
    - name: dispatch
      url: {url}
      communes: [testville]
      secret_env: {SECRET_ENV}
      backoff_initial_s: 0.2
      backoff_max_s: 1
{extra}"""
    # a camera that is not enabled: nothing is recorded, the service starts at once
    text = config_yaml(tmp_path, camera_yaml("cam-1", "rtsp://127.0.0.1:9/cam-1", enabled=False))
    text = text.replace("port: 8080}", f"port: 8080, metrics_token_file: {tmp_path / 'metrics.token'}}}")
    return webhooks + text


def build(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, secret: str = SECRET) -> VigieService:
    monkeypatch.setenv(SECRET_ENV, secret)
    service = VigieService(load_config_text(config_text(tmp_path, url)))
    assert service.webhooks is not None, "webhooks.enabled builds the bridge"
    return service


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver(SECRET) as running:
        yield running


def raise_alert(service: VigieService) -> int:
    at = datetime.now(UTC) - timedelta(seconds=5)
    alert = service.alerts.raise_alert(
        Observation("cam-1", "abandoned_object", "abandoned_object", at, (Box(0.2, 0.3, 0.1, 0.1),), 0.9, "m1")
    )
    assert alert.id is not None
    return alert.id


def audited(service: VigieService, action: AuditAction) -> list[dict[str, object]]:
    chain = SqlAuditStore(create_engine_for(service.config.storage.database_url))
    return [dict(r.details) for r in chain.records() if r.action == action]


def test_a_confirmed_alert_is_delivered_once_and_audited(
    tmp_path: Path, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = build(tmp_path, receiver.url, monkeypatch)
    service.start()
    try:
        pending = raise_alert(service)
        dismissed = raise_alert(service)
        confirmed = raise_alert(service)
        service.alerts.dismiss(dismissed, by=OPERATOR, verdict=Verdict.FALSE_POSITIVE)
        service.alerts.confirm(confirmed, by=OPERATOR, note="patrouille envoyée, M. Martin")
        wait_for(receiver.verified, 10, "the confirmed alert POSTed")
        time.sleep(1.0)  # time to POST what it would: nothing else may come
        assert [r.payload["alert"]["id"] for r in receiver.received] == [confirmed], "only it, once (L28)"
        [got] = receiver.verified()
        assert got.payload["type"] == "alert.confirmed" and got.payload["commune"] == "testville"
        assert "agent.dupont" not in got.body.decode() and "Martin" not in got.body.decode()
        assert pending != confirmed
        [entry] = wait_for(lambda: audited(service, AuditAction.WEBHOOK_DELIVERED), 10, "the delivery audited")
        assert entry["alert_id"] == confirmed and entry["endpoint"] == "dispatch" and entry["status"] == 204
        metrics = service.api_services.metrics
        assert metrics is not None
        exposition = metrics.render_for(f"Bearer {TOKEN}").decode()
        assert 'vigie_webhooks_delivered_total{endpoint="dispatch"} 1.0' in exposition
        assert 'vigie_webhooks_waiting{endpoint="dispatch"} 0.0' in exposition
        assert 'vigie_webhooks_endpoint_disabled{endpoint="dispatch"} 0.0' in exposition
    finally:
        service.stop()


def test_a_stream_alarm_is_a_health_event(
    tmp_path: Path, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = build(tmp_path, receiver.url, monkeypatch)
    assert service.webhooks is not None
    service.webhooks.start()
    try:
        now = datetime.now(UTC)
        service.sink(StreamAlarm(StreamAlarmKind.FROZEN_PICTURE, "cam-1", now, "the picture no longer changes"))
        service.sink.flush()
        [got] = wait_for(receiver.verified, 10, "the health event POSTed")
        assert got.payload["type"] == "health" and got.payload["event"] == "stream_alarm_raised"
        assert got.payload["camera"]["id"] == "cam-1" and got.payload["alarm"] == "frozen_picture"
    finally:
        service.webhooks.stop()


def test_what_waits_at_a_stop_is_delivered_after_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The receiver is down while alerts are confirmed and the service stops; it is up at the next start."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks/vigie"
    before = build(tmp_path, url, monkeypatch)
    assert before.webhooks is not None
    before.webhooks.start()
    ids = [raise_alert(before) for _ in range(3)]
    for alert_id in ids:
        before.alerts.confirm(alert_id, by=OPERATOR)
    sender = before.webhooks.senders[0]
    wait_for(lambda: sender.failed_attempts >= 1, 10, "an attempt refused: nothing listens")
    before.webhooks.stop()
    assert before.webhooks.deliveries.count_waiting() == 3 and sender.delivered == 0
    with webhook_receiver(SECRET, port=port) as receiver:
        after = build(tmp_path, url, monkeypatch)
        assert after.webhooks is not None
        after.webhooks.start()
        try:
            wait_for(lambda: len(receiver.verified()) >= 3, 10, "the three delivered")
            time.sleep(0.5)  # time to POST a duplicate, if any
            got = receiver.verified()
            assert sorted(r.payload["alert"]["id"] for r in got) == sorted(ids) and len(receiver.received) == 3
            assert after.webhooks.deliveries.count_waiting() == 0
        finally:
            after.webhooks.stop()


def test_a_recording_gap_alarm_is_a_health_delivery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The monitor's gap ledger is the one wrapped: an alarm written for the health views is a delivery too."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    clock = FakeClock(datetime.now(UTC))  # the camera's authorisation runs around today: it should record
    text = config_text(tmp_path, "https://dispatch.example.invalid/h")
    text = text.replace("\n            enabled: false", "")  # an enabled camera (the service is not started)
    service = VigieService(load_config_text(text), clock=clock)
    assert service.webhooks is not None
    service.monitor.tick(clock())
    clock.advance(minutes=5)  # no segment of cam-1 for five minutes: the alarm
    service.monitor.tick(clock())
    [delivery] = service.webhooks.deliveries.due("dispatch", clock(), 10)
    body = json.loads(delivery.payload)
    assert (delivery.kind, body["event"], body["camera"]["id"]) == ("health", "recording_gap_opened", "cam-1")


def test_a_secret_not_set_or_malformed_stops_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    text = config_text(tmp_path, "https://dispatch.example.invalid/h")
    with pytest.raises(ServiceError, match=rf"webhooks endpoint dispatch: secret_env: .*{SECRET_ENV}.* not set"):
        VigieService(load_config_text(text))
    malformed = "not-a-whsec-secret-value"
    monkeypatch.setenv(SECRET_ENV, malformed)
    with pytest.raises(ServiceError, match="does not hold a Standard Webhooks secret") as caught:
        VigieService(load_config_text(text))
    assert malformed not in str(caught.value)


def test_an_unusable_ca_file_stops_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    missing = tmp_path / "no-such-ca.pem"
    text = config_text(tmp_path, "https://dispatch.example.invalid/h", extra=f"      ca_file: {missing}\n")
    with pytest.raises(ServiceError, match=r"webhooks endpoint dispatch: ca_file .*no-such-ca\.pem: cannot use it"):
        VigieService(load_config_text(text))


def test_off_by_default(tmp_path: Path) -> None:
    service = VigieService(
        load_config_text(config_yaml(tmp_path, camera_yaml("cam-1", "rtsp://127.0.0.1:9/cam-1", enabled=False)))
    )
    assert service.webhooks is None, "nothing built, no delivery row written, no thread"
