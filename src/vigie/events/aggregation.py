"""Turning a stream of observations into stored events.

Motion at 5 fps would otherwise be five rows a second per camera. Consecutive observations of the same kind on
the same camera, less than ``cooldown`` apart, are one event whose interval and region grow; an event is written
when it opens, at most once per ``flush_every`` while it grows, and when it closes.
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

    def observe(self, obs: Observation) -> Event:
        """Account for one observation; return the (possibly new) event it belongs to."""
        self.close_idle(obs.at)
        key = (obs.camera_id, obs.kind)
        region = _union(obs.regions)
        policy = self._policy(obs.camera_id)
        current = self._open.get(key)
        if current is not None and obs.at - current[0].started_at > policy.max_duration:
            self._close(key)
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
            self._repo.update(event)
            flushed_at = obs.at
        self._open[key] = (event, flushed_at)
        return event

    def close_idle(self, now: datetime) -> list[Event]:
        """Write and forget every open event quiet for longer than the cooldown."""
        closed = [key for key, (event, _) in self._open.items() if now - event.ended_at > self._policy(key[0]).cooldown]
        return [self._close(key) for key in closed]

    def close_all(self) -> list[Event]:
        """Write every open event (on shutdown)."""
        return [self._close(key) for key in list(self._open)]

    def _policy(self, camera_id: str) -> AggregationPolicy:
        return self._per_camera.get(camera_id, self._default)

    def _close(self, key: tuple[str, str]) -> Event:
        event, _ = self._open.pop(key)
        self._repo.update(event)
        return event


def _union(regions: tuple[Box, ...]) -> Box:
    if not regions:
        return Box(0.0, 0.0, 1.0, 1.0)
    out = regions[0]
    for box in regions[1:]:
        out = out.union(box)
    return out
