"""The cameras' own events in ``vigie serve`` (and so ``vigie demo``): every enabled camera with ``onvif:`` settings
(``events: true``, the default) and an account in the credentials store is subscribed to, on one background thread
(:class:`~vigie.devices.event_listener.CameraEventListener`); what each kind becomes is decided by
:class:`~vigie.services.camera_events.CameraEventRouter` (tampering: a stream alarm, L18; motion: only under an
activation of ``motion``, L22), on the sink's thread, at each of its rounds.

The accounts are those the service read from the credentials store at its start (one read, like the domes').
An API process (``vigie api``) never subscribes: :meth:`CameraEvents.start` is called by ``vigie serve`` only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from vigie.config.camera import OnvifSettings
from vigie.config.models import CameraPlacement
from vigie.devices.event_listener import CameraEventListener, EventSource, Subscribe, SubscriptionState
from vigie.domain.camera import StreamAlarm
from vigie.domain.clock import Clock
from vigie.domain.observation import Observation
from vigie.domain.ports import CameraStatusRepo, Gate
from vigie.governance.camera_credentials import CameraAccount
from vigie.runtime.workers.sink import Periodic
from vigie.services.camera_events import CameraEventRouter, DeviceAlarmStatus

log = logging.getLogger(__name__)

DELIVER_EVERY_S: Final = 0.5
"""How often the sink's thread routes the events received (its rounds come every 0.2 s)."""


def event_sources(placements: Sequence[CameraPlacement], accounts: Mapping[str, CameraAccount]) -> list[EventSource]:
    """The devices to listen to: enabled cameras with ``onvif:`` settings whose ``events`` is on, and an account;
    the cameras of one multi-sensor device (``device:``) share one subscription (a device holds a few), its events
    sent to the sensor they name (``onvif.video_source``)."""
    sources: list[EventSource] = []
    devices: dict[str, list[tuple[str, OnvifSettings, CameraAccount]]] = {}
    for p in placements:
        onvif, name = p.camera.onvif, p.camera.credentials
        if onvif is None or not onvif.events or not name:
            continue
        account = accounts[name]
        if p.camera.device is not None:
            devices.setdefault(p.camera.device, []).append((p.camera.id, onvif, account))
            continue
        sources.append(EventSource(p.camera.id, onvif.host, onvif.port, account.username, account.password))
    for device, members in devices.items():
        _, onvif, account = members[0]  # the configuration checks that a device's cameras share both
        sensors = tuple((camera_id, settings.video_source) for camera_id, settings, _ in members)
        sources.append(
            EventSource(f"device:{device}", onvif.host, onvif.port, account.username, account.password, sensors)
        )
    return sources


class CameraEvents:
    """The listener, the router, and what the service wires them into: the health store the sink writes
    (:meth:`status`), a job of the sink's rounds (:attr:`job`) and the metrics (:attr:`collector`)."""

    def __init__(
        self,
        sources: Sequence[EventSource],
        gate: Gate,
        clock: Clock,
        emit: Callable[[StreamAlarm | Observation], None],
        *,
        subscribe: Subscribe | None = None,
    ) -> None:
        self.router = CameraEventRouter([c for s in sources for c in s.cameras], gate, clock, emit)
        self.listener = CameraEventListener(sources, self.router.offer, subscribe=subscribe)
        self.job = Periodic(DELIVER_EVERY_S, lambda _now: self.router.deliver(), writes=False)
        """Routes the events on the sink's thread (``writes=False``: an alarm is journalled during an outage)."""
        self.collector = CameraEventCollector(self)
        self._clock = clock

    def status(self, inner: CameraStatusRepo) -> CameraStatusRepo:
        """``inner`` with the alarms the cameras report shown in their health (nothing to add: ``inner``)."""
        return DeviceAlarmStatus(inner, self.router, self._clock) if self.listener.cameras else inner

    def start(self) -> None:
        if self.listener.cameras:
            log.info("camera events: listening to %d camera(s) over ONVIF", len(self.listener.cameras))
        self.listener.start()

    def stop(self) -> None:
        self.listener.stop()
        dropped = sum(self.router.motion_dropped.values())
        if dropped:
            log.info("camera events: %d camera-side motion event(s) dropped (no activation of motion)", dropped)


def open_camera_events(
    placements: Sequence[CameraPlacement],
    accounts: Mapping[str, CameraAccount],
    clock: Clock,
    gate: Gate,
    jobs: list[Periodic],
    *,
    emit: Callable[[StreamAlarm | Observation], None],
) -> CameraEvents:
    """The camera events of ``placements`` (see the module docstring); their delivery joins the sink's ``jobs``."""
    events = CameraEvents(event_sources(placements, accounts), gate, clock, emit)
    jobs.append(events.job)
    return events


class CameraEventCollector(Collector):
    """``vigie_camera_events_*``: subscriptions up, events received by kind, camera-side motion dropped for want of
    an activation, events lost to a full inbox. Labels: configured camera ids and the five event kinds."""

    def __init__(self, events: CameraEvents) -> None:
        self._events = events

    def collect(self) -> Iterator[Metric]:
        received_counts, dropped_counts, overflowed = self._events.router.counts()
        up = GaugeMetricFamily(
            "vigie_camera_events_subscribed",
            "1 while the camera's ONVIF event subscription is made, else 0 (connecting or failing)",
            labels=["camera"],
        )
        for sub in self._events.listener.subscriptions():
            up.add_metric([sub.camera_id], 1.0 if sub.state is SubscriptionState.SUBSCRIBED else 0.0)
        received = CounterMetricFamily(
            "vigie_camera_events_received", "Camera-side events received, by kind", labels=["camera", "kind"]
        )
        for (camera_id, kind), count in sorted(received_counts.items()):
            received.add_metric([camera_id, kind], count)
        dropped = CounterMetricFamily(
            "vigie_camera_motion_dropped",
            "Camera-side motion events dropped: no activation of the motion module on the camera at the time",
            labels=["camera"],
        )
        for camera_id, count in sorted(dropped_counts.items()):
            dropped.add_metric([camera_id], count)
        lost = CounterMetricFamily(
            "vigie_camera_events_overflowed", "Camera-side events lost because the service fell behind"
        )
        lost.add_metric([], overflowed)
        yield from (up, received, dropped, lost)
