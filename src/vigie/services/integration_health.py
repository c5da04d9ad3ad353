"""The integrations in the health view (issue 21): whether the links to the other systems of a supervision centre
(the MQTT broker, the webhook receivers, the sensors) work, and what waits to be sent.

Vigie runs as one ``vigie serve`` (which runs the MQTT publisher, the webhook senders and the sensors' subscriber)
and any number of stateless ``vigie api`` processes behind a load balancer; each of them answers the health view.
So the view tells apart what every process knows from what only ``vigie serve`` does:

- what the database holds is read from it in any process: the MQTT messages waiting in the outbox, the webhook
  deliveries waiting, an endpoint disabled by a 410 answer;
- the live state of a connection (connected, its last error, the counts since the start) lives in the process that
  holds the connection. In another process it is ``None``, which the console shows as "known only to vigie serve"
  — never as a connection that works. (No table holds a heartbeat of these connections; adding one is a migration.)

Scope (L10): the broker and the sensors' subscription are the platform's, shown to every reader of the health view,
like the nodes and disks; a webhook endpoint is shown only to a reader who sees one of the communes it receives
messages of, the loudspeakers counted for the reader's communes only, the sensors' messages counted for the sensors
of the reader's communes (the drops, which name no sensor, for all).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from vigie.services.access import Principal


@dataclass(frozen=True, slots=True)
class MqttLive:
    """The publisher's connection, in the process that runs it (``vigie serve``)."""

    connected: bool
    last_error: str | None
    """Why the last connection failed or ended (the publisher keeps no secret in it), or None."""
    acknowledged: int
    """Outbox messages the broker acknowledged since ``vigie serve`` started."""
    refused: int
    """Outbox messages the broker refused (its ACL) since ``vigie serve`` started."""


@dataclass(frozen=True, slots=True)
class MqttHealth:
    outbox_waiting: int
    """Messages in the outbox not yet acknowledged (the database: true in every process)."""
    live: MqttLive | None
    """None: this process does not run the publisher (a ``vigie api`` process): only ``vigie serve`` knows."""


@dataclass(frozen=True, slots=True)
class WebhookHealth:
    name: str
    url: str
    """Scheme, host, port and path: never the query string or fragment, which may hold a token."""
    communes: tuple[str, ...]
    waiting: int
    """Deliveries waiting (the database)."""
    disabled_at: datetime | None
    """When the receiver answered 410 Gone at this URL (the database); None: not disabled."""
    failed: int | None
    """Deliveries given up since ``vigie serve`` started; None: this process does not send (only it knows)."""


@dataclass(frozen=True, slots=True)
class SensorsLive:
    subscribed: bool
    last_error: str | None
    received: int
    """Messages received since ``vigie serve`` started, from the reader's communes' sensors."""
    dropped: Mapping[str, int]
    """Messages dropped since the start, per reason (too_large, malformed, wrong_sensor, duplicate, queue_full)."""


@dataclass(frozen=True, slots=True)
class SensorsHealth:
    configured: int
    """Sensors of the reader's communes in the configuration."""
    live: SensorsLive | None
    """None: this process does not run the subscriber (a ``vigie api`` process): only ``vigie serve`` knows."""


@dataclass(frozen=True, slots=True)
class IntegrationsOverview:
    mqtt: MqttHealth | None
    """None: ``mqtt.enabled`` is false."""
    webhooks: tuple[WebhookHealth, ...] | None
    """None: ``webhooks.enabled`` is false; else the endpoints the reader may see."""
    sensors: SensorsHealth | None
    """None: ``sensors.enabled`` is false."""
    speakers: Mapping[str, int]
    """Loudspeakers configured per commune of the reader (none probed: a count, not a health)."""


class MqttLink(Protocol):
    """The MQTT bridge as the health view reads it (built in :mod:`vigie.runtime.assembly.integration_health`)."""

    def outbox_waiting(self) -> int: ...

    def live(self) -> MqttLive | None: ...


class WebhookLink(Protocol):
    """One configured webhook endpoint as the health view reads it."""

    @property
    def name(self) -> str: ...

    @property
    def shown_url(self) -> str: ...

    @property
    def communes(self) -> tuple[str, ...]: ...

    def waiting(self) -> int: ...

    def disabled_at(self) -> datetime | None: ...

    def failed(self) -> int | None: ...


class SensorsLink(Protocol):
    """The sensors' subscriber as the health view reads it: its live state for the sensors named, None when this
    process does not run it."""

    def live(self, sensor_ids: frozenset[str]) -> SensorsLive | None: ...


@dataclass(frozen=True, slots=True)
class IntegrationSources:
    """What the runtime built: each part None (or empty) when its section is off."""

    mqtt: MqttLink | None = None
    webhooks: Sequence[WebhookLink] | None = None
    sensors: SensorsLink | None = None
    sensor_communes: Mapping[str, str] | None = None
    """Sensor id → its commune (the ``sensors`` section)."""
    speaker_communes: Sequence[str] = ()
    """The commune of each configured loudspeaker."""


def integrations_for(sources: IntegrationSources, viewer: Principal) -> IntegrationsOverview:
    """The integrations as ``viewer`` may see them (the caller has checked ``view_system_health``)."""
    webhooks = None
    if sources.webhooks is not None:
        webhooks = tuple(
            WebhookHealth(w.name, w.shown_url, w.communes, w.waiting(), w.disabled_at(), w.failed())
            for w in sources.webhooks
            if any(viewer.sees_commune(c) for c in w.communes)
        )
    sensors = None
    if sources.sensors is not None:
        mine = frozenset(s for s, c in (sources.sensor_communes or {}).items() if viewer.sees_commune(c))
        sensors = SensorsHealth(len(mine), sources.sensors.live(mine))
    speakers: dict[str, int] = {}
    for commune in sources.speaker_communes:
        if viewer.sees_commune(commune):
            speakers[commune] = speakers.get(commune, 0) + 1
    mqtt = None
    if sources.mqtt is not None:
        mqtt = MqttHealth(sources.mqtt.outbox_waiting(), sources.mqtt.live())
    return IntegrationsOverview(mqtt, webhooks, sensors, dict(sorted(speakers.items())))
