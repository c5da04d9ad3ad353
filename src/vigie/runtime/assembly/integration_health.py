"""The integrations as the health view reads them (issue 21; :mod:`vigie.services.integration_health`): what the
database knows, read in every process, and the live state of a connection only where this process runs it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vigie.config.models import VigieConfig
from vigie.devices.mqtt.bridge import MqttBridge
from vigie.devices.sensors.subscriber import SensorSubscriber
from vigie.devices.webhooks.bridge import WebhookBridge
from vigie.devices.webhooks.sender import WebhookSender, url_digest
from vigie.services.integration_health import IntegrationSources, MqttLive, SensorsLive


class MqttSource:
    def __init__(self, bridge: MqttBridge) -> None:
        self._bridge = bridge

    def outbox_waiting(self) -> int:
        return self._bridge.outbox.count_unsent()

    def live(self) -> MqttLive | None:
        publisher = self._bridge.publisher
        if not publisher.running:
            return None
        return MqttLive(publisher.connected.is_set(), publisher.last_error, publisher.acknowledged, publisher.refused)


@dataclass(frozen=True)
class WebhookSource:
    sender: WebhookSender
    bridge: WebhookBridge

    @property
    def name(self) -> str:
        return self.sender.endpoint.name

    @property
    def shown_url(self) -> str:
        return self.sender.shown_url

    @property
    def communes(self) -> tuple[str, ...]:
        return tuple(self.sender.endpoint.communes)

    def waiting(self) -> int:
        return self.bridge.deliveries.count_waiting(self.name)

    def disabled_at(self) -> datetime | None:
        """Disabled at this URL: a 410 at an earlier URL of the same name no longer counts (as for the sender)."""
        known = self.bridge.deliveries.disabled(self.name)
        if known is None or known.url_sha256 != url_digest(self.sender.endpoint.url):
            return None
        return known.at

    def failed(self) -> int | None:
        return self.sender.failed if self.sender.running else None


class SensorsSource:
    def __init__(self, subscriber: SensorSubscriber) -> None:
        self._subscriber = subscriber

    def live(self, sensor_ids: frozenset[str]) -> SensorsLive | None:
        subscriber = self._subscriber
        if not subscriber.running:
            return None
        received = sum(count for sensor, count in subscriber.received.items() if sensor in sensor_ids)
        return SensorsLive(subscriber.connected.is_set(), subscriber.last_error, received, dict(subscriber.dropped))


def integration_sources(
    config: VigieConfig, mqtt: MqttBridge | None, webhooks: WebhookBridge | None, sensors: SensorSubscriber | None
) -> IntegrationSources:
    """The health view's sources of what the runtime built (each None when its section is off)."""
    return IntegrationSources(
        mqtt=None if mqtt is None else MqttSource(mqtt),
        webhooks=None if webhooks is None else tuple(WebhookSource(s, webhooks) for s in webhooks.senders),
        sensors=None if sensors is None else SensorsSource(sensors),
        sensor_communes={s.id: s.commune for s in config.sensors.sensors} if sensors is not None else None,
        speaker_communes=tuple(d.commune for d in config.speakers.devices),
    )
