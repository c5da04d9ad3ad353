"""Where worker messages land in the parent process: events and camera health, written by one thread."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from vigie.domain.camera import CameraHealth
from vigie.domain.observation import Observation
from vigie.domain.ports import CameraStatusRepo
from vigie.events.aggregation import EventAggregator
from vigie.runtime.camera_worker import WorkerMessage

HEALTH_REFRESH_S = 10.0
HEALTH_LOG_RETENTION = timedelta(days=90)
"""Camera health history is operational data, not footage: kept 90 days for diagnosing flaky cameras."""
PRUNE_EVERY_S = 3600.0


class WorkerMessageSink:
    """Observations go to the event aggregator; health goes to the status repository when it changes (or every
    ``HEALTH_REFRESH_S`` so the "since" and fps shown stay fresh without a write per camera per second)."""

    def __init__(self, aggregator: EventAggregator, status: CameraStatusRepo) -> None:
        self._aggregator = aggregator
        self._status = status
        self._last: dict[str, tuple[str, str, float]] = {}
        self._pruned_at = float("-inf")

    def __call__(self, msg: WorkerMessage) -> None:
        if isinstance(msg, Observation):
            self._aggregator.observe(msg)
        elif isinstance(msg, CameraHealth):
            self._health(msg)

    def _health(self, health: CameraHealth) -> None:
        now = time.monotonic()
        previous = self._last.get(health.camera_id)
        if previous and previous[:2] == (health.state, health.reason) and now - previous[2] < HEALTH_REFRESH_S:
            return
        self._status.record(health)
        self._last[health.camera_id] = (health.state, health.reason, now)

    def tick(self) -> None:
        now = datetime.now(UTC)
        self._aggregator.close_idle(now)
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            self._status.prune_health_log(now - HEALTH_LOG_RETENTION)
            self._pruned_at = time.monotonic()

    def close(self) -> None:
        self._aggregator.close_all()
