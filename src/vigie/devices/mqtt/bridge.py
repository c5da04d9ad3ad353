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
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from vigie.config.integrations import MqttSettings
from vigie.config.models import CameraPlacement
from vigie.devices.mqtt.payloads import (
    AlertConfirmed,
    AlertFacts,
    CameraRef,
    CameraState,
    CameraStateValue,
    Decision,
    HealthEvent,
    HealthNotice,
    Region,
    alerts_topic,
    camera_state_topic,
    encoded,
    health_topic,
)
from vigie.devices.mqtt.publisher import MqttPublisher
from vigie.domain.alerts import Alert, AlertState, Verdict
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
MAX_TEXT = 500


@dataclass(frozen=True, slots=True)
class _Place:
    commune: str
    camera: CameraRef


class GapLedger(Protocol):
    """The recording-gap ledger the monitor writes (:class:`vigie.runtime.workers.monitor.GapLedger`)."""

    def begin(self, at: datetime) -> int: ...

    def write(
        self,
        gaps: Iterable[RecordingGap],
        withdrawn: Iterable[RecordingGap],
        checked: datetime,
        *,
        prune_before: datetime | None = None,
    ) -> None: ...


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
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.settings, self.outbox, self.publisher = settings, outbox, publisher
        self._clock, self._new_id = clock, new_id
        self._places = {
            p.camera.id: _Place(p.commune.id, CameraRef(id=p.camera.id, name=p.camera.name, site=p.site.id))
            for p in placements
        }
        self._states: dict[str, HealthState] = {}
        """The last state published per camera (bounded by the configured cameras)."""
        self._open_gaps: set[tuple[str, datetime]] = set()
        """Gaps published as opened and not yet as closed (at most one per camera)."""
        self._alarms: dict[tuple[str, str], datetime] = {}
        """When each stream alarm raised now began, by camera and kind (bounded: cameras times alarm kinds)."""

    # --- life ----------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.publisher.start()

    def stop(self) -> None:
        self.publisher.stop()

    # --- alerts --------------------------------------------------------------------------------------------------

    def confirmed(self, alert: Alert) -> list[OutboxMessage]:
        """The message reporting ``alert``, for the outbox, in the transaction of its confirmation; nothing for an
        alert that is not confirmed (L28), or whose camera is not configured here."""
        if alert.state is not AlertState.CONFIRMED or alert.verdict is not Verdict.CONFIRMED or alert.id is None:
            return []
        place = self._places.get(alert.camera_id)
        if place is None or alert.decided_at is None:
            log.warning("MQTT: alert %s of camera %s not published: no such camera here", alert.id, alert.camera_id)
            return []
        box = alert.region
        now = self._clock()
        payload = AlertConfirmed(
            id=self._new_id(),
            type="alert.confirmed",
            version=1,
            commune=place.commune,
            camera=place.camera,
            alert=AlertFacts(
                id=alert.id,
                module=alert.module,
                kind=alert.kind,
                seen_at=alert.at,
                region=Region(x=_unit(box.x), y=_unit(box.y), w=_unit(box.w), h=_unit(box.h)),
            ),
            decision=Decision(verdict="confirmed", role=alert.decided_role or "", decided_at=alert.decided_at),
            written_at=now,
        )
        topic = alerts_topic(self.settings.topic_prefix, place.commune)
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
        return _PublishedGaps(inner, self)

    def gaps_written(self, gaps: Iterable[RecordingGap], withdrawn: Iterable[RecordingGap]) -> None:
        messages: list[OutboxMessage] = []
        for gap in gaps:
            key = (gap.camera_id, gap.start)
            if gap.end is None:
                if key not in self._open_gaps:
                    self._open_gaps.add(key)
                    messages += self._health(gap.camera_id, "recording_gap_opened", gap.start, None, "no footage")
            else:
                event: HealthEvent = "recording_gap_closed" if key in self._open_gaps else "recording_gap_found"
                self._open_gaps.discard(key)
                seconds = gap.seconds(gap.end)
                messages += self._health(gap.camera_id, event, gap.start, gap.end, f"{seconds:.1f} s without footage")
        for gap in withdrawn:
            key = (gap.camera_id, gap.start)
            if key in self._open_gaps:
                self._open_gaps.discard(key)
                detail = "late segments cover it: no footage missing"
                messages += self._health(gap.camera_id, "recording_gap_closed", gap.start, gap.noticed, detail)
        self._keep(messages)

    def observe(self, msg: object) -> None:
        """A worker message (the sink's thread): a stream alarm's transition is written to the outbox."""
        if not isinstance(msg, StreamAlarm):
            return
        key = (msg.camera_id, msg.kind.value)
        if msg.cleared:
            started = self._alarms.pop(key, msg.at)  # raised before this run: its start is not known here
            event: HealthEvent = "stream_alarm_cleared"
            ended: datetime | None = msg.at
        else:
            started = self._alarms.setdefault(key, msg.at)
            event, ended = "stream_alarm_raised", None
        self._keep(self._health(msg.camera_id, event, started, ended, msg.detail, alarm=msg.kind.value))

    def indexed(self, segments: Sequence[Segment]) -> None:
        """Nothing: recording gaps come from the ledger."""

    def tick(self, now: datetime) -> None:
        """Nothing: the publisher has its own thread."""

    def _health(
        self,
        camera_id: str,
        event: HealthEvent,
        started: datetime,
        ended: datetime | None,
        detail: str,
        *,
        alarm: str | None = None,
    ) -> list[OutboxMessage]:
        place = self._places.get(camera_id)
        if place is None:
            return []
        now = self._clock()
        payload = HealthNotice(
            id=self._new_id(),
            type="health",
            version=1,
            commune=place.commune,
            camera=place.camera,
            event=event,
            alarm=alarm,
            started_at=started,
            ended_at=ended,
            detail=detail[:MAX_TEXT],
            written_at=now,
        )
        return [
            OutboxMessage(payload.id, health_topic(self.settings.topic_prefix, place.commune), encoded(payload), now)
        ]

    def _keep(self, messages: Sequence[OutboxMessage]) -> None:
        if messages:
            self.outbox.add(messages)
            self.publisher.wake()


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


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


class _PublishedGaps:
    """A gap ledger that writes what it wrote to the outbox too (after it was written: a refused write is tried
    again by the monitor, and published then)."""

    def __init__(self, inner: GapLedger, bridge: MqttBridge) -> None:
        self._inner, self._bridge = inner, bridge

    def begin(self, at: datetime) -> int:
        return self._inner.begin(at)

    def write(
        self,
        gaps: Iterable[RecordingGap],
        withdrawn: Iterable[RecordingGap],
        checked: datetime,
        *,
        prune_before: datetime | None = None,
    ) -> None:
        gaps, withdrawn = list(gaps), list(withdrawn)
        self._inner.write(gaps, withdrawn, checked, prune_before=prune_before)
        try:
            self._bridge.gaps_written(gaps, withdrawn)
        except Exception:  # the ledger was written: the monitor must not write it again
            log.exception("MQTT: recording gap events not written to the outbox")
