"""What the cameras' own events become in the service (ONVIF PullPoint, :mod:`vigie.devices.event_listener`).

**Tampering** — the scene changed (``GlobalSceneChange``), the picture blurred or went dark, the housing was
tampered with — is about the device, not about people: the camera was turned, sprayed or covered. It is a stream
integrity alarm (L18, "frozen, lost or substituted streams raise alarms") like those Vigie finds in the picture
itself (:mod:`vigie.ingest.alarms`), and goes the same way: each transition is a :class:`StreamAlarm` for the
sink, which logs it and writes ``stream.alarm`` to the audit chain (L11: the DPO and the auditor find it there);
while it lasts the camera's health, as operators see it in their camera lists and live feed, is ``degraded`` with
the reason (:class:`DeviceAlarmStatus`). No activation is needed: nobody is analysed.

**One episode per condition.** Vigie's own picture checks find two of these conditions too (``scene_changed``,
``image_too_blurry``). When a camera reports one and the picture check finds it, that is one alarm, not two: the
picture check is one more source of the camera's alarm (:meth:`CameraEventRouter.merge`, put in front of the
workers' messages by :func:`merged_stream_alarms`), raised by whichever sees it first and cleared when the last one
stops; the records name who saw it. The picture check keeps running (a camera's own detector may be off, or
fooled), so nothing waits for the camera to speak.

**Motion** detected by the camera is algorithmic processing of the picture, done by the camera instead of by
Vigie. It is the ``motion`` module of the catalogue and is used only where the governance gate allows that module
on that camera at that time (L22, L23: off by default, under an activation); it then becomes an observation like
the analysis worker's motion (a motion event). Without one it is dropped and counted (``motion_dropped``), never
stored nor logged one by one.

Events come in on the listener's thread and are handed over through a bounded inbox; :meth:`CameraEventRouter.
deliver` routes them on the sink's thread (the single writer), so nothing here writes from another thread.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, TypeVar

from vigie.devices.onvif_events import CameraEvent
from vigie.domain.camera import CameraHealth, HealthState, StreamAlarm, StreamAlarmKind
from vigie.domain.clock import Clock
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.domain.ports import CameraStatusRepo, Gate

log = logging.getLogger(__name__)

MOTION_MODULE: Final = "motion"
TAMPER_ALARMS: Final[dict[str, StreamAlarmKind]] = {
    "scene_change": StreamAlarmKind.SCENE_CHANGED,
    "image_too_blurry": StreamAlarmKind.IMAGE_TOO_BLURRY,
    "image_too_dark": StreamAlarmKind.IMAGE_TOO_DARK,
    "tamper": StreamAlarmKind.TAMPERED,
}
"""Camera-side event kinds (:data:`vigie.devices.onvif_events.EVENT_KINDS`) that are the device's integrity."""
PICTURE: Final = "vigie-picture"
"""The source name, among a camera's video sources, of the alarms Vigie finds in its picture (:mod:`vigie.ingest.
alarms`)."""
CAMERA_SIDE_MODEL: Final = "onvif-camera"
"""The model version an observation of camera-side motion carries: the camera's own detector, not a Vigie model."""
WHOLE_PICTURE: Final = Box(0.0, 0.0, 1.0, 1.0)
"""ONVIF motion says that there is motion, not where: the observation's region is the whole picture."""
INBOX_SIZE: Final = 20_000
"""Events waiting for the sink's next round, at most (the oldest dropped first, counted)."""
MAX_SOURCES: Final = 16
"""Video sources of one camera an alarm remembers as active (a multi-sensor camera has a few)."""
_REPORTED = frozenset(TAMPER_ALARMS.values())
M = TypeVar("M")
_SEVERITY = (HealthState.ONLINE, HealthState.STARTING, HealthState.DEGRADED, HealthState.OFFLINE)


@dataclass(frozen=True, slots=True)
class _Received:
    camera_id: str
    event: CameraEvent
    at: datetime


class CameraEventRouter:
    """Routes the cameras' events (see the module docstring). ``emit`` is the sink (its thread calls
    :meth:`deliver`); ``gate`` answers whether ``motion`` may run on a camera; ``clock`` stamps each event as it
    is received (the devices' own clocks are not trusted)."""

    def __init__(
        self,
        cameras: Collection[str],
        gate: Gate,
        clock: Clock,
        emit: Callable[[StreamAlarm | Observation], None],
        *,
        inbox_size: int = INBOX_SIZE,
    ) -> None:
        self._cameras = frozenset(cameras)
        self._gate, self._clock, self._emit = gate, clock, emit
        self._inbox: deque[_Received] = deque(maxlen=inbox_size)
        self._lock = threading.Lock()
        self._active: dict[tuple[str, StreamAlarmKind], set[str]] = {}
        """(camera, alarm) → the video sources reporting it now (bounded: configured cameras × 4 kinds × 16)."""
        self.received: Counter[tuple[str, str]] = Counter()
        """Events received, by (camera, kind)."""
        self.motion_dropped: Counter[str] = Counter()
        """Camera-side motion dropped for want of an activation of ``motion`` on the camera, by camera."""
        self.overflowed = 0
        """Events lost because the inbox was full (the sink's thread fell behind)."""
        self.status: DeviceAlarmStatus | None = None
        """The camera health the alarms are shown in (set by :class:`DeviceAlarmStatus`)."""

    def offer(self, camera_id: str, event: CameraEvent) -> None:
        """Hand over an event as it comes (any thread; quick)."""
        if camera_id not in self._cameras:
            return
        received = _Received(camera_id, event, self._clock())
        with self._lock:
            if len(self._inbox) == self._inbox.maxlen:
                self.overflowed += 1
            self._inbox.append(received)
            self.received[(camera_id, event.kind)] += 1

    def counts(self) -> tuple[dict[tuple[str, str], int], dict[str, int], int]:
        """Copies of :attr:`received`, :attr:`motion_dropped` and :attr:`overflowed` (any thread)."""
        with self._lock:
            return dict(self.received), dict(self.motion_dropped), self.overflowed

    def active(self, camera_id: str) -> list[StreamAlarmKind]:
        """The alarms the camera reports now, sorted."""
        with self._lock:
            return sorted(
                kind for (camera, kind), sources in self._active.items() if camera == camera_id and sources - {PICTURE}
            )

    def merge(self, alarm: StreamAlarm) -> StreamAlarm | None:
        """A transition Vigie's picture check found (the analysis workers'), merged with what the camera reports of
        the same condition: ``alarm`` when it starts or ends the camera's episode of that kind, None when the
        camera's own report already holds it (or still does). Kinds a camera does not report, and cameras not
        listened to, pass as they are."""
        if alarm.camera_id not in self._cameras or alarm.kind not in _REPORTED:
            return alarm
        with self._lock:
            sources = self._active.setdefault((alarm.camera_id, alarm.kind), set())
            was = bool(sources)
            if alarm.cleared:
                sources.discard(PICTURE)
            else:
                sources.add(PICTURE)
            now = bool(sources)
        return alarm if was != now else None

    def deliver(self) -> int:
        """Route what came in since the last call (the sink's thread); returns how many events."""
        with self._lock:
            batch = list(self._inbox)
            self._inbox.clear()
        changed: dict[str, datetime] = {}
        for item in batch:
            kind = TAMPER_ALARMS.get(item.event.kind)
            if kind is not None:
                alarm = self._transition(item, kind)
                if alarm is not None:
                    self._emit(alarm)
                    changed[item.camera_id] = item.at
            elif item.event.kind == MOTION_MODULE and item.event.active:
                self._motion(item)
        if self.status is not None:
            for camera_id, at in changed.items():
                try:
                    self.status.refresh(camera_id, at)
                except Exception as err:  # the database refuses: the workers' next report carries the alarms
                    log.warning("camera %s: health not written now (%s)", camera_id, type(err).__name__)
        return len(batch)

    def _transition(self, item: _Received, kind: StreamAlarmKind) -> StreamAlarm | None:
        """The alarm raised when a first source reports it, cleared when the last one stops; None otherwise."""
        key = (item.camera_id, kind)
        with self._lock:
            sources = self._active.setdefault(key, set())
            was = bool(sources)
            if item.event.active and len(sources) < MAX_SOURCES:
                sources.add(item.event.source)
            elif not item.event.active:
                sources.discard(item.event.source)
            now = bool(sources)
        if was == now:
            return None
        detail = f"reported by the camera over ONVIF ({item.event.topic})"
        return StreamAlarm(kind, item.camera_id, item.at, detail, cleared=not now)

    def _motion(self, item: _Received) -> None:
        try:
            allowed = self._gate.allows(MOTION_MODULE, item.camera_id, item.at)
        except Exception:  # a gate that cannot answer is closed (DESIGN: fail-closed)
            log.warning("camera %s: the gate could not answer for motion; dropped", item.camera_id, exc_info=True)
            allowed = False
        if not allowed:
            with self._lock:
                self.motion_dropped[item.camera_id] += 1
            return
        self._emit(
            Observation(item.camera_id, MOTION_MODULE, MOTION_MODULE, item.at, (WHOLE_PICTURE,), 1.0, CAMERA_SIDE_MODEL)
        )


def merged_stream_alarms(router: CameraEventRouter, sink: Callable[[M], None]) -> Callable[[M], None]:
    """``sink`` with the stream alarms among its messages merged with the cameras' own (:meth:`CameraEventRouter.
    merge`): what the workers' messages go through."""

    def handle(message: M) -> None:
        if isinstance(message, StreamAlarm):
            merged = router.merge(message)
            if merged is None:  # the camera's own report holds the episode: one alarm, not two
                log.info("camera %s: %s (the camera reports it too)", message.camera_id, message.detail)
                return
        sink(message)

    return handle


def with_device_alarms(health: CameraHealth, alarms: Sequence[StreamAlarmKind]) -> CameraHealth:
    """``health`` as operators see it while the camera reports ``alarms``: at least ``degraded``, with them in
    its reason (an offline camera stays offline)."""
    if not alarms:
        return health
    state = max(health.state, HealthState.DEGRADED, key=_SEVERITY.index)
    said = "the camera reports " + ", ".join(str(kind) for kind in alarms)
    return replace(health, state=state, reason="; ".join(r for r in (health.reason, said) if r))


class DeviceAlarmStatus:
    """The cameras' health store, with what the cameras report of themselves put into what is written: every API
    process reads the same row (camera lists, live feed, health view), and the health log keeps each change of
    state and reason. Implements ``CameraStatusRepo`` over the store it wraps."""

    def __init__(self, inner: CameraStatusRepo, router: CameraEventRouter, clock: Clock) -> None:
        self._inner, self._router, self._clock = inner, router, clock
        self._reported: dict[str, CameraHealth] = {}
        """The last health the workers reported, per camera (bounded by the configured cameras)."""
        router.status = self

    def _merged(self, health: CameraHealth) -> CameraHealth:
        self._reported[health.camera_id] = health
        return with_device_alarms(health, self._router.active(health.camera_id))

    def record(self, health: CameraHealth) -> None:
        self._inner.record(self._merged(health))

    def record_many(self, reports: Iterable[CameraHealth]) -> int:
        return self._inner.record_many([self._merged(h) for h in reports])

    def latest(self) -> Sequence[CameraHealth]:
        return self._inner.latest()

    def prune_health_log(self, older_than: datetime) -> int:
        return self._inner.prune_health_log(older_than)

    def refresh(self, camera_id: str, at: datetime) -> None:
        """Write the camera's health again now that its alarms changed (the sink's thread), from its workers'
        last report (none yet: starting)."""
        reported = self._reported.get(camera_id) or CameraHealth(camera_id, HealthState.STARTING, at)
        health = replace(reported, at=max(reported.at, at))
        self._inner.record(with_device_alarms(health, self._router.active(camera_id)))
