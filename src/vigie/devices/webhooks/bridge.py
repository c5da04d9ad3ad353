"""What the service hands to webhooks, and how (issue 21): confirmed alerts and health events turned into
deliveries for each endpoint that takes them (its ``communes`` and ``kinds``), the payloads built by
:mod:`vigie.devices.notices` exactly as for MQTT.

Plugged in by the composition root (``vigie.runtime.assembly.service``) where MQTT is:

* :meth:`WebhookBridge.confirmed` is given to the alert repository (``webhooks_of``), which writes the deliveries
  in the transaction of the confirmation — never for a pending alert, never for a dismissed one (L28);
  :meth:`WebhookBridge.dispatch` (an alert dispatcher, called after the confirmation) wakes the senders.
* :meth:`WebhookBridge.gap_ledger` wraps the recording-gap ledger; :meth:`WebhookBridge.observe` reads the worker
  messages (stream alarms): health events.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from vigie.config.integrations import WebhookKind, WebhooksSettings
from vigie.config.models import CameraPlacement
from vigie.devices.mqtt.payloads import encoded
from vigie.devices.notices import (
    GapLedger,
    HealthChange,
    HealthTracker,
    NotifyingGapLedger,
    alert_notice,
    health_notice,
    notice_places,
)
from vigie.devices.webhooks.sender import WebhookSender
from vigie.domain.alerts import Alert
from vigie.domain.camera import StreamAlarm
from vigie.domain.recording import RecordingGap, Segment
from vigie.domain.webhooks import WebhookDeliveries, WebhookDelivery

log = logging.getLogger(__name__)


class WebhookBridge:
    """See the module docstring. ``senders``: one per configured endpoint (started by :meth:`start`, only in
    ``vigie serve``; an API process writes deliveries and sends nothing)."""

    def __init__(
        self,
        settings: WebhooksSettings,
        placements: Iterable[CameraPlacement],
        deliveries: WebhookDeliveries,
        senders: Sequence[WebhookSender],
        clock: Callable[[], datetime],
        *,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.settings, self.deliveries, self.senders = settings, deliveries, tuple(senders)
        self._clock, self._new_id = clock, new_id
        self._places = notice_places(placements)
        self._health_events = HealthTracker()

    # --- life ----------------------------------------------------------------------------------------------------

    def start(self) -> None:
        for sender in self.senders:
            sender.start()

    def stop(self) -> None:
        for sender in self.senders:
            sender.close()

    def wake(self) -> None:
        for sender in self.senders:
            sender.wake()

    # --- what goes to whom ---------------------------------------------------------------------------------------

    def _endpoints(self, commune: str, kind: WebhookKind) -> list[str]:
        return [e.name for e in self.settings.endpoints if commune in e.communes and kind in e.kinds]

    def _for(
        self, commune: str, kind: WebhookKind, message_id: str, body: bytes, now: datetime
    ) -> list[WebhookDelivery]:
        return [
            WebhookDelivery(message_id, name, kind, body, created_at=now, next_attempt_at=now)
            for name in self._endpoints(commune, kind)
        ]

    # --- alerts --------------------------------------------------------------------------------------------------

    def confirmed(self, alert: Alert) -> list[WebhookDelivery]:
        """The deliveries reporting ``alert``, in the transaction of its confirmation; nothing for an alert that is
        not confirmed (L28), whose camera is not configured here, or whose commune no endpoint takes."""
        now = self._clock()
        payload = alert_notice(alert, self._places.get(alert.camera_id), self._new_id(), now)
        if payload is None:
            return []
        return self._for(payload.commune, "alert.confirmed", payload.id, encoded(payload), now)

    def dispatch(self, alert: Alert) -> None:
        """An alert dispatcher (called after a confirmation): its deliveries are written; send them now."""
        self.wake()

    # --- health --------------------------------------------------------------------------------------------------

    def gap_ledger(self, inner: GapLedger) -> GapLedger:
        """``inner`` (the monitor's ledger), with each gap change it wrote also written as deliveries."""
        return NotifyingGapLedger(inner, self.gaps_written, "webhooks")

    def gaps_written(self, gaps: Iterable[RecordingGap], withdrawn: Iterable[RecordingGap]) -> None:
        self._keep(self._health_events.gaps_written(gaps, withdrawn))

    def observe(self, msg: object) -> None:
        """A worker message (the sink's thread): a stream alarm's transition is written as deliveries."""
        if isinstance(msg, StreamAlarm):
            self._keep([self._health_events.stream_alarm(msg)])

    def indexed(self, segments: Sequence[Segment]) -> None:
        """Nothing: recording gaps come from the ledger."""

    def tick(self, now: datetime) -> None:
        """Nothing: the senders have their own threads."""

    def _keep(self, changes: Sequence[HealthChange]) -> None:
        deliveries: list[WebhookDelivery] = []
        for change in changes:
            place = self._places.get(change.camera_id)
            if place is None or not self._endpoints(place.commune, "health"):
                continue
            now = self._clock()
            payload = health_notice(change, place, self._new_id(), now)
            deliveries += self._for(place.commune, "health", payload.id, encoded(payload), now)
        if deliveries:
            self.deliveries.add(deliveries)
            self.wake()
