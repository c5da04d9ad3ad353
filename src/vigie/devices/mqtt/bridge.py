"""What the service hands to MQTT, and how (issue 21): the messages of a confirmed alert, the cameras' states, the
recording gaps and the stream alarms, turned into the payloads of :mod:`vigie.devices.mqtt.payloads`.

The bridge is plugged in by the composition root (``vigie.runtime.assembly.service``) where the service already
passes what it reports:

* :meth:`MqttBridge.confirmed` is given to the alert repository, which writes its messages to the outbox in the
  transaction of the confirmation — never for a pending alert, never for a dismissed one (L28);
  :meth:`MqttBridge.dispatch` (an alert dispatcher, called after the confirmation) wakes the publisher.
* :meth:`MqttBridge.camera_status` wraps the cameras' health store: what operators see is what is published.
* :meth:`MqttBridge.gap_ledger` wraps the recording-gap ledger of ``vigie serve``'s monitor: a gap opened, closed
  or found, once written for the health views, is written to the outbox.
* :meth:`MqttBridge.observe` reads the worker messages (an observer of the sink): stream alarms.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from vigie.config.integrations import MqttSettings
from vigie.config.models import CameraPlacement
from vigie.devices.mqtt.ids import TimeOrderedIds
from vigie.devices.mqtt.payloads import (
    CameraState,
    CameraStateValue,
    alerts_topic,
    camera_state_topic,
    encoded,
    health_topic,
)
from vigie.devices.mqtt.publisher import MqttPublisher
from vigie.devices.notices import (
    MAX_TEXT,
    GapLedger,
    HealthChange,
    HealthTracker,
    NotifyingGapLedger,
    alert_notice,
    health_notice_json,
    notice_places,
)
from vigie.domain.alerts import Alert
from vigie.domain.camera import CameraHealth, HealthState, StreamAlarm
from vigie.domain.outbox import Outbox, OutboxMessage
from vigie.domain.ports import CameraStatusRepo
from vigie.domain.recording import RecordingGap, Segment

log = logging.getLogger(__name__)

PUBLISHED_STATES: dict[HealthState, CameraStateValue] = {
    HealthState.ONLINE: "online",
    HealthState.DEGRADED: "degraded",
    HealthState.OFFLINE: "offline",
}
"""``starting`` is not published: the retained state stays the last one known until the stream says more."""


class MqttBridge:
    """See the module docstring. ``placements``: every configured camera (its commune names the topic)."""

    def __init__(
        self,
        settings: MqttSettings,
        placements: Iterable[CameraPlacement],
        outbox: Outbox,
        publisher: MqttPublisher,
        clock: Callable[[], datetime],
        *,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self.settings, self.outbox, self.publisher = settings, outbox, publisher
        self._clock = clock
        self._new_id = TimeOrderedIds() if new_id is None else new_id
        """Time-ordered UUIDs: appended at the end of the outbox's unique index (see :mod:`.ids`)."""
        self._places = notice_places(placements)
        self._states: dict[str, HealthState] = {}
        """The last state published per camera (bounded by the configured cameras)."""
        self._health_events = HealthTracker()

    # --- life ----------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.publisher.start()

    def stop(self) -> None:
        self.publisher.stop()

    # --- alerts --------------------------------------------------------------------------------------------------

    def confirmed(self, alert: Alert) -> list[OutboxMessage]:
        """The message reporting ``alert``, for the outbox, in the transaction of its confirmation; nothing for an
        alert that is not confirmed (L28), or whose camera is not configured here."""
        now = self._clock()
        place = self._places.get(alert.camera_id)
        payload = alert_notice(alert, place, self._new_id(), now)
        if payload is None:
            if place is None:
                log.warning("MQTT: alert %s of camera %s not published: no such camera here", alert.id, alert.camera_id)
            return []
        topic = alerts_topic(self.settings.topic_prefix, payload.commune)
        return [OutboxMessage(payload.id, topic, encoded(payload), now)]

    def dispatch(self, alert: Alert) -> None:
        """An alert dispatcher (called after a confirmation): its message is in the outbox; publish it now."""
        self.publisher.wake()

    # --- camera states -------------------------------------------------------------------------------------------

    def camera_status(self, inner: CameraStatusRepo) -> CameraStatusRepo:
        """``inner`` (the cameras' health store), with every state it records published when it changed."""
        return _PublishedStatus(inner, self)

    def camera_health(self, health: CameraHealth) -> None:
        """A camera's health as recorded: its state published (retained) when it changed."""
        place = self._places.get(health.camera_id)
        state = PUBLISHED_STATES.get(health.state)
        if place is None or state is None or self._states.get(health.camera_id) is health.state:
            return
        self._states[health.camera_id] = health.state
        payload = CameraState(
            id=self._new_id(),
            type="camera.state",
            version=1,
            commune=place.commune,
            camera=place.camera,
            state=state,
            since=health.at,
            reason=health.reason[:MAX_TEXT],
            written_at=self._clock(),
        )
        topic = camera_state_topic(self.settings.topic_prefix, place.commune, health.camera_id)
        self.publisher.publish_state(health.camera_id, topic, encoded(payload))

    # --- health: recording gaps and stream alarms ----------------------------------------------------------------

    def gap_ledger(self, inner: GapLedger) -> GapLedger:
        """``inner`` (the monitor's ledger), with each gap change it wrote also written to the outbox."""
        return NotifyingGapLedger(inner, self.gaps_written, "MQTT")

    def gaps_written(self, gaps: Iterable[RecordingGap], withdrawn: Iterable[RecordingGap]) -> None:
        self._keep(self._health(self._health_events.gaps_written(gaps, withdrawn)))

    def observe(self, msg: object) -> None:
        """A worker message (the sink's thread): a stream alarm's transition is written to the outbox."""
        if isinstance(msg, StreamAlarm):
            self._keep(self._health([self._health_events.stream_alarm(msg)]))

    def indexed(self, segments: Sequence[Segment]) -> None:
        """Nothing: recording gaps come from the ledger."""

    def tick(self, now: datetime) -> None:
        """Nothing: the publisher has its own thread."""

    def _health(self, changes: Sequence[HealthChange]) -> list[OutboxMessage]:
        messages: list[OutboxMessage] = []
        now = self._clock()  # written together, in one transaction
        for change in changes:
            place = self._places.get(change.camera_id)
            if place is None:
                continue
            message_id = self._new_id()
            topic = health_topic(self.settings.topic_prefix, place.commune)
            messages.append(OutboxMessage(message_id, topic, health_notice_json(change, place, message_id, now), now))
        return messages

    def _keep(self, messages: Sequence[OutboxMessage]) -> None:
        if messages:
            self.outbox.add(messages)
            self.publisher.wake()


class _PublishedStatus:
    """A :class:`~vigie.domain.ports.CameraStatusRepo` that publishes what it recorded."""

    def __init__(self, inner: CameraStatusRepo, bridge: MqttBridge) -> None:
        self._inner, self._bridge = inner, bridge

    def record(self, health: CameraHealth) -> None:
        self._inner.record(health)
        self._published([health])

    def record_many(self, reports: Iterable[CameraHealth]) -> int:
        batch = list(reports)
        changed = self._inner.record_many(batch)
        self._published(batch)
        return changed

    def _published(self, reports: Sequence[CameraHealth]) -> None:
        """After the write: a failure here must not make the sink write the health again."""
        try:
            for health in reports:
                self._bridge.camera_health(health)
        except Exception:
            log.exception("MQTT: camera states not published")

    def latest(self) -> Sequence[CameraHealth]:
        return self._inner.latest()

    def prune_health_log(self, older_than: datetime) -> int:
        return self._inner.prune_health_log(older_than)
