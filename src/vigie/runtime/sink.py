"""Where worker messages land in the parent process: events, camera health and audit, written by one thread."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from vigie.domain.camera import CameraHealth
from vigie.domain.observation import Observation
from vigie.domain.ports import AuditSink, CameraStatusRepo
from vigie.events.aggregation import EventAggregator
from vigie.governance.gate import GateTransition, transition_event
from vigie.runtime.camera_worker import WorkerMessage

HEALTH_REFRESH_S = 10.0
HEALTH_LOG_RETENTION = timedelta(days=90)
"""Camera health history is operational data, not footage: kept 90 days for diagnosing flaky cameras."""
PRUNE_EVERY_S = 3600.0


class WorkerMessageSink:
    """Observations go to the event aggregator; gate transitions to the audit chain; health to the status
    repository when it changes (or every ``HEALTH_REFRESH_S`` so "since" and fps stay fresh without a write per
    camera per second).

    It remembers which (module, camera) gates are open, so that a worker that dies or is killed while a module
    runs still gets its ``gate.closed`` entry: the compliance report never shows a module running forever.
    """

    def __init__(
        self,
        aggregator: EventAggregator,
        status: CameraStatusRepo,
        audit: AuditSink,
        hourly: Sequence[Callable[[datetime], object]] = (),
    ) -> None:
        """``hourly`` jobs (retention) run on this thread, the single writer, once an hour."""
        self._aggregator = aggregator
        self._status = status
        self._audit = audit
        self._hourly = tuple(hourly)
        self._last: dict[str, tuple[str, str, float]] = {}
        self._open_gates: dict[tuple[str, str], GateTransition] = {}
        self._pruned_at = float("-inf")

    def __call__(self, msg: WorkerMessage) -> None:
        if isinstance(msg, Observation):
            self._aggregator.observe(msg)
        elif isinstance(msg, CameraHealth):
            self._health(msg)
        elif isinstance(msg, GateTransition):
            self._transition(msg)

    def _transition(self, transition: GateTransition) -> None:
        key = (transition.module, transition.camera_id)
        if transition.opened:
            self._open_gates[key] = transition
        else:
            self._open_gates.pop(key, None)
        self._audit.append(transition_event(transition))

    def worker_exited(self, camera_id: str, reason: str = "worker stopped") -> None:
        """Close, in the audit, every module still open on a camera whose worker has ended."""
        now = datetime.now(UTC)
        for (module, camera), opened in list(self._open_gates.items()):
            if camera == camera_id:
                self._transition(GateTransition(module, camera, False, opened.activation_id, reason, now))

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
            self._pruned_at = time.monotonic()
            self._status.prune_health_log(now - HEALTH_LOG_RETENTION)
            for job in self._hourly:
                job(now)

    def close(self) -> None:
        """On shutdown: write open events, and close every gate still open."""
        self._aggregator.close_all()
        for camera_id in {camera for _, camera in self._open_gates}:
            self.worker_exited(camera_id, "service stopped")
