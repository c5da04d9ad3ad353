"""The integrations in the health view, in a real browser (issue 21): an operator sees a broken link to the MQTT
broker (a real publisher whose broker does not answer) with why and how many messages wait, a webhook endpoint the
receiver disabled (410, from the database) and its waiting deliveries, one whose sending only ``vigie serve`` knows
shown as unknown (never as working), the loudspeakers of the operator's commune — and nothing of another commune's
endpoints."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from tests.api.world import World
from tests.console.conftest import Browser, logged_in, shot, sync_api
from tests.support.system_health import HealthParts
from vigie.config.integrations import MqttSettings, WebhookEndpoint, WebhooksSettings
from vigie.devices.mqtt.bridge import MqttBridge
from vigie.devices.mqtt.publisher import MqttPublisher
from vigie.devices.webhooks.bridge import WebhookBridge
from vigie.devices.webhooks.sender import WebhookSender, url_digest
from vigie.domain.audit import AuditEvent, AuditRecord
from vigie.domain.outbox import OutboxMessage
from vigie.domain.webhooks import DisabledEndpoint, WebhookDelivery
from vigie.runtime.assembly.integration_health import MqttSource, WebhookSource
from vigie.services.integration_health import IntegrationSources
from vigie.storage.outbox import SqlOutbox
from vigie.storage.webhooks import SqlWebhookDeliveries

expect = sync_api.expect

GONE_URL = "http://127.0.0.1:9/gone?token=query-secret"


def clock() -> datetime:
    return datetime.now(UTC)


def closed_port() -> int:
    """A local port nothing listens on: the broker "down"."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def health(db: Engine) -> Iterator[HealthParts]:
    """The health view's parts, with an MQTT publisher started against a broker that is down, and three webhook
    endpoints (one disabled by a 410, one of Bron's) whose senders are not started here."""
    outbox = SqlOutbox(db)
    now = clock()
    outbox.add([OutboxMessage(f"m{i}", "vigie/villeurbanne/alerts", b"{}", now, False) for i in range(2)])
    settings = MqttSettings(enabled=True, host="127.0.0.1", port=closed_port(), client_id="vigie-console-health")
    publisher = MqttPublisher(settings, outbox, clock)
    mqtt = MqttBridge(settings, (), outbox, publisher, clock)

    deliveries = SqlWebhookDeliveries(db)
    endpoints = (
        WebhookEndpoint(name="gone", url=GONE_URL, communes=("villeurbanne",), secret_env="S"),
        WebhookEndpoint(name="dispatch", url="http://127.0.0.1:9/dispatch", communes=("villeurbanne",), secret_env="S"),
        WebhookEndpoint(name="bron-hook", url="http://127.0.0.1:9/bron", communes=("bron",), secret_env="S"),
    )
    senders = [WebhookSender(e, b"k" * 32, deliveries, _NoAudit(), clock) for e in endpoints]
    webhooks = WebhookBridge(WebhooksSettings(enabled=True, endpoints=endpoints), (), deliveries, senders, clock)
    later = now + timedelta(hours=1)
    deliveries.add([WebhookDelivery(f"d{i}", "dispatch", "health", b"{}", now, later) for i in range(3)])
    deliveries.disable(DisabledEndpoint("gone", url_digest(GONE_URL), now, "the receiver answered 410 Gone"))

    parts = HealthParts(
        integrations=IntegrationSources(
            mqtt=MqttSource(mqtt),
            webhooks=tuple(WebhookSource(s, webhooks) for s in senders),
            speaker_communes=("villeurbanne", "villeurbanne", "bron"),
        )
    )
    publisher.start()
    try:
        yield parts
    finally:
        publisher.stop(flush_s=0.1)
        for sender in senders:
            sender.close()


class _NoAudit:
    """Nothing is sent here (the senders are not started): nothing to audit."""

    def append(self, event: AuditEvent) -> AuditRecord:
        raise AssertionError("nothing is audited by the health view")


def test_an_operator_sees_a_broken_mqtt_link_and_a_disabled_webhook(
    chromium: Browser, world: World, health: HealthParts
) -> None:
    assert health.supervisor is not None
    page = logged_in(chromium, world, "op.vil")
    page.click("[data-view-link='health']")
    rows = page.locator("#health-integrations tbody tr")
    mqtt = page.locator("#health-integrations tr[data-integration='mqtt']")
    expect(mqtt).to_contain_text("non connecté", timeout=15_000)
    expect(mqtt).to_contain_text("dernière erreur")
    expect(mqtt.locator("td").nth(1)).to_have_class("state state-offline")
    expect(mqtt.locator("td").nth(2)).to_have_text("2")
    gone = page.locator("#health-integrations tr[data-integration='webhook:gone']")
    expect(gone).to_contain_text("410 Gone")
    expect(gone).to_contain_text("http://127.0.0.1:9/gone")
    expect(gone).not_to_contain_text("query-secret")
    dispatch = page.locator("#health-integrations tr[data-integration='webhook:dispatch']")
    expect(dispatch.locator("td").nth(2)).to_have_text("3")
    expect(dispatch.locator("td").nth(1)).to_have_text("inconnu ici (connu de vigie serve seulement)")
    expect(dispatch.locator("td").nth(1)).not_to_have_class("state state-online")
    expect(page.locator("#health-integrations tr[data-integration='speakers:villeurbanne']")).to_contain_text("2 ")
    expect(rows).to_have_count(4)  # no Bron endpoint, no Bron loudspeaker: not this operator's commune
    expect(page.locator("#health-integrations-note")).to_contain_text("vigie serve")
    shot(page, "health-integrations")
