"""Builds the MQTT bridge of the ``mqtt`` section (issue 21), or nothing when it is off: the one place that reads the
broker's password, from the environment variable the file names."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from vigie.config.integrations import MqttSettings
from vigie.config.models import VigieConfig
from vigie.devices.mqtt.bridge import MqttBridge
from vigie.devices.mqtt.publisher import MqttPublisher, MqttSetupError
from vigie.storage.outbox import SqlOutbox


def open_mqtt(
    config: VigieConfig,
    engine: Engine,
    clock: Callable[[], datetime],
    environ: Mapping[str, str] | None = None,
) -> MqttBridge | None:
    """The bridge when ``mqtt.enabled``, else None. A password variable that is not set, or a TLS file that cannot
    be used, is an :class:`MqttSetupError` naming the field (never a secret). Nothing connects before
    :meth:`MqttBridge.start`."""
    settings = config.mqtt
    if not settings.enabled:
        return None
    password = mqtt_password(settings, environ)
    outbox = SqlOutbox(engine)
    publisher = MqttPublisher(settings, outbox, clock, password=password)
    return MqttBridge(settings, config.placements(), outbox, publisher, clock)


def mqtt_password(settings: MqttSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The broker password of ``mqtt.username``, from the variable ``mqtt.password_env`` names (None without a
    username); a variable not set is an :class:`MqttSetupError` naming it, never showing a value."""
    if settings.username is None:
        return None
    env = os.environ if environ is None else environ
    password = env.get(settings.password_env, "")
    if not password:
        raise MqttSetupError(
            f"mqtt.password_env: the environment variable {settings.password_env} (the broker password of "
            f"mqtt.username {settings.username}) is not set or empty; set it before starting vigie, or name "
            "another variable in `mqtt.password_env`"
        )
    return password


class MqttCollector(Collector):
    """``vigie_mqtt_*``: the connection to the broker, the messages waiting in the outbox, the messages the broker
    acknowledged and refused since the start (docs/metrics.md)."""

    def __init__(self, bridge: MqttBridge) -> None:
        self._bridge = bridge

    def collect(self) -> Iterator[Metric]:
        publisher = self._bridge.publisher
        connected = GaugeMetricFamily("vigie_mqtt_connected", "1 while connected to the MQTT broker, else 0")
        connected.add_metric([], 1.0 if publisher.connected.is_set() else 0.0)
        waiting = GaugeMetricFamily("vigie_mqtt_outbox_waiting", "Messages in the outbox not yet acknowledged")
        waiting.add_metric([], float(self._bridge.outbox.count_unsent()))
        acknowledged = CounterMetricFamily(
            "vigie_mqtt_messages_acknowledged", "Outbox messages the broker acknowledged (PUBACK)"
        )
        acknowledged.add_metric([], publisher.acknowledged)
        refused = CounterMetricFamily("vigie_mqtt_messages_refused", "Outbox messages the broker refused (its ACL)")
        refused.add_metric([], publisher.refused)
        yield from (connected, waiting, acknowledged, refused)
