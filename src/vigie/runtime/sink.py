"""Where worker messages land in the parent process: events, camera health, audit and the segment index, all
written by one thread (the supervisor's), so SQLite never sees two writers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from vigie.analytics.rules.registry import MODULES, STATISTICS
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.camera import CameraHealth, HealthState, StreamAlarm
from vigie.domain.clock import Clock
from vigie.domain.observation import Observation
from vigie.domain.ports import AuditSink, CameraStatusRepo
from vigie.domain.recording import Segment, SegmentIndex
from vigie.domain.statistics import StatisticBucket, StatisticsRepo
from vigie.events.aggregation import EventAggregator
from vigie.governance.gate import GateRefusal, GateTransition, refusal_event, transition_event
from vigie.runtime.camera_worker import ModelRefusal, WorkerMessage
from vigie.runtime.clock import system_clock
from vigie.runtime.recorder_worker import RecorderMessage, RecordingHealth
from vigie.runtime.segment_upload import SegmentUploader
from vigie.services.alerts import AlertService

log = logging.getLogger(__name__)

HEALTH_REFRESH_S = 10.0
HEALTH_LOG_RETENTION = timedelta(days=90)
"""Camera health history is operational data, not footage: kept 90 days for diagnosing flaky cameras."""
PRUNE_EVERY_S = 3600.0


ALERT_MODULES = frozenset(MODULES) - STATISTICS
"""Modules whose observations are alerts for a person to decide (the statistics modules never alert)."""

_SEVERITY = (HealthState.ONLINE, HealthState.STARTING, HealthState.DEGRADED, HealthState.OFFLINE)


class Periodic:
    """A job run at most every ``period_s`` seconds (first at the first call), errors logged, never raised:
    a failing purge must not stop events and audit from being written."""

    def __init__(self, period_s: float, job: Callable[[datetime], object]) -> None:
        self._period = period_s
        self._job = job
        self._last = float("-inf")

    def __call__(self, now: datetime) -> None:
        tick = time.monotonic()
        if tick - self._last < self._period:
            return
        self._last = tick
        try:
            self._job(now)
        except Exception:
            log.exception("periodic job %r failed; it will run again in %.0f s", self._job, self._period)


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
        jobs: Sequence[Periodic] = (),
        segments: SegmentIndex | None = None,
        *,
        uploader: SegmentUploader | None = None,
        alerts: AlertService | None = None,
        statistics: StatisticsRepo | None = None,
        clock: Clock = system_clock,
    ) -> None:
        """``jobs`` (retention, purge) run on this thread, the single writer, each at its own period. Finished
        segments reported by recorders are added to ``segments``; with an ``uploader`` (remote store) they are
        handed to it instead, which indexes each once it is uploaded."""
        self._aggregator = aggregator
        self._status = status
        self._audit = audit
        self._jobs = (Periodic(PRUNE_EVERY_S, self._prune_health), *jobs)
        self._last: dict[str, tuple[str, str, float]] = {}
        self._open_gates: dict[tuple[str, str], GateTransition] = {}
        self._refused_models: set[tuple[str, str, str]] = set()
        """(camera, model, file hash found) already audited this run: a worker restarting in a loop (camera
        offline) re-hashes at each start, but the same refusal is audited once."""
        self._refused_activations: set[int] = set()
        self._segments = segments
        self._uploader = uploader
        self._alerts = alerts
        self._statistics = statistics
        self._clock = clock
        self._recording: dict[str, RecordingHealth] = {}
        self._analysis: dict[str, CameraHealth] = {}
        """Latest analysis-worker health per camera (bounded by the configured cameras)."""
        """Latest recorder health per camera (bounded by the configured cameras)."""

    def __call__(self, msg: WorkerMessage | RecorderMessage) -> None:
        if isinstance(msg, Segment):
            self._segment(msg)
        elif isinstance(msg, RecordingHealth):
            self._recorder_health(msg)
        elif isinstance(msg, Observation):
            self._observation(msg)
        elif isinstance(msg, CameraHealth):
            self._analysis_health(msg)
        elif isinstance(msg, GateTransition):
            self._transition(msg)
        elif isinstance(msg, GateRefusal):
            self._refusal(msg)
        elif isinstance(msg, StreamAlarm):
            self._stream_alarm(msg)
        elif isinstance(msg, ModelRefusal):
            self._model_refused(msg)
        elif isinstance(msg, StatisticBucket):
            if self._statistics is None:
                log.warning("statistics of %s on %s dropped: no statistics store", msg.module, msg.camera_id)
            else:
                self._statistics.add(msg)

    def _observation(self, observation: Observation) -> None:
        """Event modules raise alerts, pending until a person decides (L28); motion and tracking make events."""
        if observation.module in ALERT_MODULES:
            if self._alerts is None:
                log.warning("alert of %s on %s dropped: no alert service", observation.module, observation.camera_id)
                return
            self._alerts.raise_alert(observation)
            return
        self._aggregator.observe(observation)

    def _refusal(self, refusal: GateRefusal) -> None:
        """An unverified activation, audited once per service run however many workers saw it."""
        if refusal.activation_id not in self._refused_activations:
            self._refused_activations.add(refusal.activation_id)
            self._audit.append(refusal_event(refusal))

    def _transition(self, transition: GateTransition) -> None:
        key = (transition.module, transition.camera_id)
        if transition.opened:
            self._open_gates[key] = transition
        else:
            self._open_gates.pop(key, None)
        self._audit.append(transition_event(transition))

    def _segment(self, segment: Segment) -> None:
        if self._uploader is not None:
            self._uploader.segment(segment)
            return
        if self._segments is None:
            log.warning("segment %s recorded but no index is configured", segment.key)
            return
        self._segments.add(segment)

    def _recorder_health(self, health: RecordingHealth) -> None:
        previous = self._recording.get(health.camera_id)
        if previous is None or (previous.state, previous.reason) != (health.state, health.reason):
            log.info("recording of %s: %s %s", health.camera_id, health.state.value, health.reason)
        self._recording[health.camera_id] = health
        analysis = self._analysis.get(health.camera_id)
        if analysis is not None or health.state is not HealthState.ONLINE:
            self._publish(health.camera_id)

    def _stream_alarm(self, alarm: StreamAlarm) -> None:
        """L18: logged for the operators' supervision and recorded in the audit chain (the camera's health shows
        it as ``degraded`` while it lasts)."""
        state = "cleared" if alarm.cleared else "raised"
        log.warning("camera %s: stream alarm %s %s: %s", alarm.camera_id, alarm.kind, state, alarm.detail)
        self._audit.append(
            AuditEvent(
                "system:stream",
                AuditAction.STREAM_ALARM,
                f"camera:{alarm.camera_id}",
                {"kind": str(alarm.kind), "state": state, "detail": alarm.detail},
                alarm.at,
            )
        )

    def _model_refused(self, refusal: ModelRefusal) -> None:
        """L30: a worker found its model file changed since it was registered, and did not load it. Logged at every
        worker start; audited once per service run for each camera, model and file content found."""
        log.error(
            "camera %s: detection model %s refused (%s has SHA-256 %s…, registered %s…); not run: %s. Put the "
            "registered file back, or register this one with `vigie models add FILE --format F --name %s` (or "
            "`vigie models install %s`), then restart",
            refusal.camera_id,
            refusal.model,
            refusal.file,
            refusal.found_sha256[:16],
            refusal.expected_sha256[:16],
            ", ".join(refusal.modules),
            refusal.model,
            refusal.model,
        )
        key = (refusal.camera_id, refusal.model, refusal.found_sha256)
        if key in self._refused_models:
            return
        self._refused_models.add(key)
        self._audit.append(
            AuditEvent(
                "system:worker",
                AuditAction.MODEL_REFUSED,
                f"camera:{refusal.camera_id}",
                {
                    "model": refusal.model,
                    "file": refusal.file,
                    "expected_sha256": refusal.expected_sha256,
                    "found_sha256": refusal.found_sha256,
                    "modules": list(refusal.modules),
                },
                refusal.at,
            )
        )

    def worker_exited(self, camera_id: str, reason: str = "worker stopped") -> None:
        """Close, in the audit, every module still open on a camera whose worker has ended."""
        now = self._clock()
        for (module, camera), opened in list(self._open_gates.items()):
            if camera == camera_id:
                self._transition(GateTransition(module, camera, False, opened.activation_id, reason, now))

    def _analysis_health(self, health: CameraHealth) -> None:
        self._analysis[health.camera_id] = health
        self._publish(health.camera_id)

    def _publish(self, camera_id: str) -> None:
        """What operators see of a camera: the worse of its analysis stream and its recording, with both reasons
        — a camera whose recording fails is not "online" because its sub stream still decodes."""
        analysis = self._analysis.get(camera_id)
        recording = self._recording.get(camera_id)
        base = analysis or CameraHealth(camera_id, HealthState.STARTING, self._clock())
        if recording is None or recording.state is HealthState.ONLINE:
            self._health(base)
            return
        worst = max(base.state, recording.state, key=_SEVERITY.index)
        reason = "; ".join(r for r in (base.reason, f"recording {recording.state}: {recording.reason}") if r)
        self._health(replace(base, state=worst, reason=reason, at=max(base.at, recording.at)))

    def _health(self, health: CameraHealth) -> None:
        now = time.monotonic()
        previous = self._last.get(health.camera_id)
        if previous and previous[:2] == (health.state, health.reason) and now - previous[2] < HEALTH_REFRESH_S:
            return
        self._status.record(health)
        self._last[health.camera_id] = (health.state, health.reason, now)

    def tick(self) -> None:
        now = self._clock()
        self._aggregator.close_idle(now)
        for job in self._jobs:
            job(now)

    def _prune_health(self, now: datetime) -> None:
        self._status.prune_health_log(now - HEALTH_LOG_RETENTION)

    def close(self) -> None:
        """On shutdown: write open events, and close every gate still open."""
        self._aggregator.close_all()
        for camera_id in {camera for _, camera in self._open_gates}:
            self.worker_exited(camera_id, "service stopped")
