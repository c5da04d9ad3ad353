"""Turning a stream of observations into stored events.

Motion at 5 fps would otherwise be five rows a second per camera. Consecutive observations of the same kind on
the same camera, less than ``cooldown`` apart, are one event whose interval and region grow; an event is written
when it opens, at most once per ``flush_every`` while it grows, and when it closes — the growing and closing ones
of a round together, in one statement (:meth:`EventAggregator.write_pending`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from vigie.domain.geometry import Box
from vigie.domain.observation import Event, Observation
from vigie.domain.ports import EventRepo


@dataclass(frozen=True, slots=True)
class AggregationPolicy:
    cooldown: timedelta = timedelta(seconds=5)
    """Observations closer than this belong to the same event."""
    flush_every: timedelta = timedelta(seconds=2)
    """How often a growing event is written while it stays open."""
    max_duration: timedelta = timedelta(seconds=60)
    """A busy street never goes quiet: an event is cut at this length so operators see bounded intervals."""


SWEEP_EVERY = timedelta(seconds=1)


class EventAggregator:
    """Merges observations into events. Holds at most one open event per (camera, kind) and closes it after
    ``cooldown`` without observations, so its state is bounded by the number of cameras and kinds."""

    def __init__(
        self,
        repo: EventRepo,
        policy: AggregationPolicy | None = None,
        per_camera: Mapping[str, AggregationPolicy] | None = None,
    ) -> None:
        self._repo = repo
        self._default = policy or AggregationPolicy()
        self._per_camera = dict(per_camera or {})
        self._open: dict[tuple[str, str], tuple[Event, datetime]] = {}
        self._swept: datetime | None = None
        self._pending: dict[tuple[str, str], Event] = {}
        """Open events grown since last written, by (camera, kind)."""
        self._closed: list[Event] = []
        """Events closed since the last write (their last state)."""

    def observe(self, obs: Observation) -> Event:
        """Account for one observation; return the (possibly new) event it belongs to. The other cameras' idle
        events are closed at most once a second of observation time here (and by :meth:`close_idle`, which the
        service calls every round): a sweep of every open event at each observation cost the single writer most of
        its time at the métropole's size (730 observations a second, 489 cameras analysed)."""
        if self._swept is None or obs.at - self._swept >= SWEEP_EVERY or obs.at < self._swept:
            self.close_idle(obs.at)
        key = (obs.camera_id, obs.kind)
        region = _union(obs.regions)
        policy = self._policy(obs.camera_id)
        current = self._open.get(key)
        if current is not None and (
            obs.at - current[0].started_at > policy.max_duration or obs.at - current[0].ended_at > policy.cooldown
        ):
            self._close(key)  # its own event, quiet too long or too long: the observation opens a new one
            current = None
        if current is None:
            event = self._repo.add(
                Event(
                    camera_id=obs.camera_id,
                    module=obs.module,
                    kind=obs.kind,
                    started_at=obs.at,
                    ended_at=obs.at,
                    region=region,
                    score=obs.score,
                    model_version=obs.model_version,
                )
            )
            self._open[key] = (event, obs.at)
            return event
        event, flushed_at = current
        event = replace(
            event,
            ended_at=max(event.ended_at, obs.at),
            region=event.region.union(region),
            score=max(event.score, obs.score),
            observations=event.observations + 1,
        )
        if obs.at - flushed_at >= policy.flush_every:
            self._pending[key] = event
            flushed_at = obs.at
        self._open[key] = (event, flushed_at)
        return event

    def close_idle(self, now: datetime) -> list[Event]:
        """Write and forget every open event quiet for longer than the cooldown."""
        self._swept = now
        closed = [key for key, (event, _) in self._open.items() if now - event.ended_at > self._policy(key[0]).cooldown]
        events = [self._close(key) for key in closed]
        self.write_pending()
        return events

    def close_all(self) -> list[Event]:
        """Write every open event (on shutdown)."""
        events = [self._close(key) for key in list(self._open)]
        self.write_pending()
        return events

    def write_pending(self) -> None:
        """Write the events that grew or closed since the last call, in one statement (called by
        :meth:`close_idle`, which the service calls at the end of every round: a growing event is visible within a
        round of its ``flush_every``)."""
        if self._pending or self._closed:
            due = [*self._closed, *self._pending.values()]
            self._repo.update_many(due)
            self._closed.clear()
            self._pending.clear()

    def _policy(self, camera_id: str) -> AggregationPolicy:
        return self._per_camera.get(camera_id, self._default)

    def _close(self, key: tuple[str, str]) -> Event:
        event, _ = self._open.pop(key)
        self._pending.pop(key, None)
        self._closed.append(event)
        return event


def _union(regions: tuple[Box, ...]) -> Box:
    if not regions:
        return Box(0.0, 0.0, 1.0, 1.0)
    out = regions[0]
    for box in regions[1:]:
        out = out.union(box)
    return out
