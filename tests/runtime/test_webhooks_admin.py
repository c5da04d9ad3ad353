"""Administering webhook endpoints (issue 21) as ``vigie serve`` and the ``vigie`` command run it, against a real
HTTP receiver that checks every signature: an endpoint disabled by a 410 Gone answer is re-enabled by an
administrator with ``vigie webhooks enable`` (audited with their name; an operator is refused, audited), and the
running service delivers to it again; the rows of an endpoint removed from the configuration are deleted at the
next start, audited with their counts."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli_accounts import signed_in_world
from tests.support.configs import camera_yaml, config_yaml
from tests.support.waiting import wait_for
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver
from vigie.cli import main
from vigie.config import load_config_text
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.webhooks import DeliveryState, DisabledEndpoint, WebhookDelivery
from vigie.runtime.assembly.service import VigieService
from vigie.runtime.clock import system_clock
from vigie.storage import SqlAuditStore
from vigie.storage.database import create_engine_for
from vigie.storage.webhooks import SqlWebhookDeliveries

SECRET = "whsec_" + base64.b64encode(bytes(range(40, 72))).decode()
SECRET_ENV = "VIGIE_TEST_WEBHOOK_ADMIN_SECRET"
OPERATOR = Actor("agent.dupont", "operator", "testville")


def write_config(tmp_path: Path, url: str) -> Path:
    webhooks = f"""webhooks:
  enabled: true
  endpoints:
    - name: dispatch
      url: {url}
      communes: [testville]
      secret_env: {SECRET_ENV}
      backoff_initial_s: 0.2
      backoff_max_s: 1
"""
    # a camera that is not enabled: nothing is recorded, the service starts at once
    cameras = camera_yaml("cam-1", "rtsp://127.0.0.1:9/cam-1", enabled=False)
    path = tmp_path / "vigie.yaml"
    path.write_text(webhooks + config_yaml(tmp_path, cameras), encoding="utf-8")
    return path


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver(SECRET) as running:
        yield running


def confirm_an_alert(service: VigieService) -> int:
    at = datetime.now(UTC) - timedelta(seconds=5)
    alert = service.alerts.raise_alert(
        Observation("cam-1", "intrusion", "intrusion", at, (Box(0.2, 0.3, 0.1, 0.1),), 0.9, "m1")
    )
    assert alert.id is not None
    service.alerts.confirm(alert.id, by=OPERATOR)
    return alert.id


def audited(service: VigieService, action: AuditAction) -> list[tuple[str, dict[str, object]]]:
    chain = SqlAuditStore(create_engine_for(service.config.storage.database_url))
    return [(r.actor, dict(r.details)) for r in chain.records() if r.action == action]


def delivered_alerts(receiver: WebhookReceiver) -> list[int]:
    return [r.payload["alert"]["id"] for r in receiver.verified()]


def test_an_administrator_re_enables_an_endpoint_a_410_disabled_and_deliveries_resume(
    tmp_path: Path,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    config = write_config(tmp_path, receiver.url)
    service = VigieService(load_config_text(config.read_text(encoding="utf-8")))
    assert service.webhooks is not None
    sender = service.webhooks.senders[0]
    receiver.answer(410)
    service.webhooks.start()
    try:
        gone = confirm_an_alert(service)
        wait_for(lambda: sender.disabled is not None, 10, "the endpoint disabled by its 410")
        meanwhile = confirm_an_alert(service)  # written while disabled: dropped, never sent
        deliveries = SqlWebhookDeliveries(create_engine_for(service.config.storage.database_url))
        wait_for(
            lambda: [d.state for d in deliveries.states("dispatch")] == [DeliveryState.FAILED, DeliveryState.DROPPED],
            10,
            "the message written while disabled dropped",
        )
        with signed_in_world(config, tmp_path / "sessions", system_clock, monkeypatch) as accounts:
            accounts.add("op.vil", "operator")
            accounts.add("admin.vil", "administrator")
            accounts.sign_in("op.vil")
            assert main(["webhooks", "enable", "dispatch", "--config", str(config)]) == 1
            assert "do not allow manage integrations" in capsys.readouterr().err
            assert sender.disabled is not None, "an operator's refusal changes nothing"
            accounts.sign_in("admin.vil")
            assert main(["webhooks", "enable", "nowhere", "--config", str(config)]) == 1
            assert "no webhook endpoint 'nowhere'" in capsys.readouterr().err
            assert main(["webhooks", "enable", "dispatch", "--config", str(config)]) == 0
            out = capsys.readouterr().out
            assert "re-enabled dispatch (http://127.0.0.1:" in out and "the receiver answered 410 Gone" in out
            wait_for(lambda: sender.disabled is None, 10, "the running sender notices the re-enabling")
            after = confirm_an_alert(service)
            wait_for(lambda: after in delivered_alerts(receiver), 10, "the next confirmed alert delivered")
            time.sleep(0.5)  # time to POST what it would: the dropped one must not come
            assert delivered_alerts(receiver) == [gone, after] and meanwhile not in delivered_alerts(receiver)
            assert main(["webhooks", "enable", "dispatch", "--config", str(config)]) == 1
            assert "is not disabled at its url" in capsys.readouterr().err
    finally:
        service.webhooks.stop()
    [(actor, enabled)] = audited(service, AuditAction.WEBHOOK_ENABLED)
    assert actor == "admin.vil" and enabled["endpoint"] == "dispatch" and enabled["communes"] == ["testville"]
    assert enabled["reason"] == "the receiver answered 410 Gone" and "?" not in str(enabled["url"])
    denied = [d for a, d in audited(service, AuditAction.ACCESS_DENIED) if a == "op.vil"]
    assert denied and "manage integrations" in str(denied[-1]), "the operator's refusal is audited"
    assert SECRET not in str(audited(service, AuditAction.WEBHOOK_ENABLED))


def test_the_rows_of_an_endpoint_removed_from_the_configuration_are_deleted_at_the_start(
    tmp_path: Path, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``old-crm`` was configured once: its rows (two never delivered, one delivered) and its 410 record stay in
    the database after it is removed; the next start of ``vigie serve`` deletes them and audits the counts, and
    leaves ``dispatch``'s waiting message to be delivered."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    config = write_config(tmp_path, receiver.url)
    service = VigieService(load_config_text(config.read_text(encoding="utf-8")))
    store = SqlWebhookDeliveries(create_engine_for(service.config.storage.database_url))
    now = datetime.now(UTC)

    def row(n: int, endpoint: str) -> WebhookDelivery:
        body = b'{"id": "%d", "type": "health", "commune": "testville", "camera": {"id": "cam-1"}}' % n
        return WebhookDelivery(f"00000000-0000-4000-8000-{n:012d}", endpoint, "health", body, now, now)

    store.add([row(1, "old-crm"), row(2, "old-crm"), row(3, "old-crm"), row(4, "dispatch")])
    [first, *_] = store.due("old-crm", now, 10)
    store.delivered(first.seq or 0, 1, now)
    store.disable(DisabledEndpoint("old-crm", "c" * 64, now, "the receiver answered 410 Gone"))
    caplog.set_level("WARNING", logger="vigie.services.webhooks")
    service.start()
    try:
        wait_for(lambda: len(receiver.verified()) == 1, 10, "dispatch's waiting message delivered")
    finally:
        service.stop()
    assert store.states("old-crm") == [] and store.disabled("old-crm") is None
    [(actor, forgotten)] = audited(service, AuditAction.WEBHOOK_ROWS_FORGOTTEN)
    assert actor == "system:webhooks"
    assert forgotten == {"endpoints": {"old-crm": {"waiting": 2, "done": 1, "disabled": True}}}
    assert "old-crm is no longer configured: 2 waiting message(s) and 1 finished row(s) deleted" in caplog.text
    again = VigieService(load_config_text(config.read_text(encoding="utf-8")))
    again.start()
    again.stop()
    assert len(audited(again, AuditAction.WEBHOOK_ROWS_FORGOTTEN)) == 1, "nothing left to forget: no new entry"
