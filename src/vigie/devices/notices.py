"""What Vigie tells other systems (issue 21), built once for every channel: the payload of a confirmed alert and of
a health event (a recording gap, a stream alarm), with the same fields over MQTT and webhooks
(:mod:`vigie.devices.mqtt.payloads` holds the models and their JSON Schemas).

Only what a person decided may leave: :func:`alert_notice` makes nothing of an alert that is not confirmed — never a
pending alert, never a dismissed one — and a payload carries no image and no name of a person (L27, L28).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic_core import to_json

from vigie.config.models import CameraPlacement
from vigie.devices.mqtt.payloads import (
    AlertConfirmed,
    AlertFacts,
    CameraRef,
    Decision,
    HealthEvent,
    HealthNotice,
    Region,
)
from vigie.domain.alerts import Alert, AlertState, Verdict
from vigie.domain.camera import StreamAlarm
from vigie.domain.recording import RecordingGap

log = logging.getLogger(__name__)

MAX_TEXT = 500


@dataclass(frozen=True, slots=True)
class NoticePlace:
    """Where a camera is, as messages name it: its commune and the camera's reference."""

    commune: str
    camera: CameraRef


def notice_places(placements: Iterable[CameraPlacement]) -> dict[str, NoticePlace]:
    """Every configured camera's place, by camera id (bounded by the configuration)."""
    return {
        p.camera.id: NoticePlace(p.commune.id, CameraRef(id=p.camera.id, name=p.camera.name, site=p.site.id))
        for p in placements
    }


def alert_notice(alert: Alert, place: NoticePlace | None, message_id: str, now: datetime) -> AlertConfirmed | None:
    """The payload reporting ``alert`` once a person confirmed it; None for an alert that is not confirmed (L28) or
    whose camera is not configured here (``place`` None)."""
    if alert.state is not AlertState.CONFIRMED or alert.verdict is not Verdict.CONFIRMED or alert.id is None:
        return None
    if place is None or alert.decided_at is None:
        return None
    box = alert.region
    return AlertConfirmed(
        id=message_id,
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


@dataclass(frozen=True, slots=True)
class HealthChange:
    """A health event of one camera, before it becomes a payload."""

    camera_id: str
    event: HealthEvent
    started: datetime
    ended: datetime | None
    detail: str
    alarm: str | None = None


def health_notice(change: HealthChange, place: NoticePlace, message_id: str, now: datetime) -> HealthNotice:
    return HealthNotice(
        id=message_id,
        type="health",
        version=1,
        commune=place.commune,
        camera=place.camera,
        event=change.event,
        alarm=change.alarm,
        started_at=change.started,
        ended_at=change.ended,
        detail=change.detail[:MAX_TEXT],
        written_at=now,
    )


def health_notice_json(change: HealthChange, place: NoticePlace, message_id: str, now: datetime) -> bytes:
    """``encoded(health_notice(change, place, message_id, now))``, byte for byte (``tests/devices/
    test_mqtt_payloads.py`` compares them), without building the model: the fields are typed here already, and
    pydantic's serializer given a dict in the model's field order writes the same JSON for 8 µs of CPU where
    validating then dumping the model took 15–19 (``bench/mqtt_throughput.py``: thousands of health events a
    second). The standard library's ``json.dumps`` of the same dict cost more (28 µs), the date formatting in Python."""
    return to_json(
        {
            "id": message_id,
            "type": "health",
            "version": 1,
            "commune": place.commune,
            "camera": place.camera,
            "event": change.event,
            "alarm": change.alarm,
            "started_at": change.started,
            "ended_at": change.ended,
            "detail": change.detail[:MAX_TEXT],
            "written_at": now,
        }
    )


class HealthTracker:
    """Turns what ``vigie serve`` records — the recording-gap ledger's writes, the stream alarms — into health
    events: a gap opened, closed or found; an alarm raised or cleared (with when it began)."""

    def __init__(self) -> None:
        self._open_gaps: set[tuple[str, datetime]] = set()
        """Gaps reported as opened and not yet as closed (at most one per camera)."""
        self._alarms: dict[tuple[str, str], datetime] = {}
        """When each stream alarm raised now began, by camera and kind (bounded: cameras times alarm kinds)."""

    def gaps_written(self, gaps: Iterable[RecordingGap], withdrawn: Iterable[RecordingGap]) -> list[HealthChange]:
        changes: list[HealthChange] = []
        for gap in gaps:
            key = (gap.camera_id, gap.start)
            if gap.end is None:
                if key not in self._open_gaps:
                    self._open_gaps.add(key)
                    changes.append(HealthChange(gap.camera_id, "recording_gap_opened", gap.start, None, "no footage"))
            else:
                event: HealthEvent = "recording_gap_closed" if key in self._open_gaps else "recording_gap_found"
                self._open_gaps.discard(key)
                detail = f"{gap.seconds(gap.end):.1f} s without footage"
                changes.append(HealthChange(gap.camera_id, event, gap.start, gap.end, detail))
        for gap in withdrawn:
            key = (gap.camera_id, gap.start)
            if key in self._open_gaps:
                self._open_gaps.discard(key)
                detail = "late segments cover it: no footage missing"
                changes.append(HealthChange(gap.camera_id, "recording_gap_closed", gap.start, gap.noticed, detail))
        return changes

    def stream_alarm(self, msg: StreamAlarm) -> HealthChange:
        key = (msg.camera_id, msg.kind.value)
        if msg.cleared:
            started = self._alarms.pop(key, msg.at)  # raised before this run: its start is not known here
            return HealthChange(msg.camera_id, "stream_alarm_cleared", started, msg.at, msg.detail, msg.kind.value)
        started = self._alarms.setdefault(key, msg.at)
        return HealthChange(msg.camera_id, "stream_alarm_raised", started, None, msg.detail, msg.kind.value)


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


GapsWritten = Callable[[list[RecordingGap], list[RecordingGap]], None]


class NotifyingGapLedger:
    """A gap ledger that reports what it wrote (after it was written: a refused write is tried again by the
    monitor, and reported then; a failure to report is logged, never written twice)."""

    def __init__(self, inner: GapLedger, written: GapsWritten, channel: str) -> None:
        self._inner, self._written, self._channel = inner, written, channel

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
            self._written(gaps, withdrawn)
        except Exception:  # the ledger was written: the monitor must not write it again
            log.exception("%s: recording gap events not kept", self._channel)


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))
