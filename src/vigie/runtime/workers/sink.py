"""Where worker messages land in the parent process: events, camera health, audit and the segment index, all
written by one thread (the supervisor's), so SQLite never sees two writers.

Hundreds of cameras report to this one thread (a health report per worker per second, a segment every few seconds
per camera): segment-index rows, statistics and camera health are buffered and written at :meth:`~WorkerMessageSink.
flush` — every supervisor round (``tick``), when ``flush_at`` items wait, and at close — one transaction per kind;
motion observations are merged into events at the flush, their writes one transaction too (``events_batch``).
Health is coalesced per camera (the latest report wins; each change of state is still logged). Audit entries and
alerts are rare and chained: written as they come, in their order. A service killed between two rounds loses no
segment: its file is on disk (reconciled at start) or in the spool (uploaded at start).

What must never be lost — segment index rows, audit entries (gate transitions, stream alarms, refusals), alerts and
statistics — goes through a :class:`~vigie.runtime.workers.journal.DurableWriter`: written, or kept in the journal
while the database refuses writes and written in order when it takes them again (then the segment index is
reconciled with the disk, in case a message never came). What is refreshed anyway (camera health) or merged from
many observations (motion events) is not tried while the database refuses writes: it is counted,
and health is written again after.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from vigie.analytics.rules.registry import MODULES, STATISTICS
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.camera import CameraHealth, HealthState, StreamAlarm
from vigie.domain.clock import Clock
from vigie.domain.observation import Observation
from vigie.domain.plates import PlateRead, PlateReadRefusedError, PlateReadSink
from vigie.domain.ports import AuditSink, CameraStatusRepo
from vigie.domain.recording import Segment, SegmentIndex
from vigie.domain.statistics import StatisticBucket, StatisticsRepo
from vigie.events.aggregation import EventAggregator
from vigie.governance.gate import GateRefusal, GateTransition, refusal_event, transition_event
from vigie.recording.upload import SegmentUploader
from vigie.runtime.clock import system_clock
from vigie.runtime.workers.analysis import ModelRefusal, WorkerMessage
from vigie.runtime.workers.batches import HealthBatch, add_statistics, index_segments, record_health
from vigie.runtime.workers.database_watch import DatabaseWatch
from vigie.runtime.workers.journal import DurableWriter, Outage, Write, WriteJournal
from vigie.runtime.workers.recorder import RecorderMessage, RecordingHealth
from vigie.services.alerts import AlertService
from vigie.storage.database import DatabaseUnavailableError
from vigie.storage.errors import StorageError

log = logging.getLogger(__name__)

HEALTH_REFRESH_S = 10.0
HEALTH_LOG_RETENTION = timedelta(days=90)
"""Camera health history is operational data, not footage: kept 90 days for diagnosing flaky cameras."""
PRUNE_EVERY_S = 3600.0
FLUSH_AT = 500
"""Buffered writes (segments, statistics, health reports) that trigger a flush before the next tick."""
OBSERVER_LOG_EVERY_S = 60.0
STOP_UPLOADS_S = 10.0
STOP_JOBS_S = 10.0
"""At stop, how long a periodic job running apart (the purge) may take to end."""
"""At stop, how long uploads under way may take to finish (and be indexed) before the sink closes."""


ALERT_MODULES = frozenset(MODULES) - STATISTICS
"""Modules whose observations are alerts for a person to decide (the statistics modules never alert)."""

_SEVERITY = (HealthState.ONLINE, HealthState.STARTING, HealthState.DEGRADED, HealthState.OFFLINE)


SYSTEM_STORAGE = "system:storage"
"""The actor of the database's own audit entries (unavailable, recovered, lost)."""


class Periodic:
    """A job run at most every ``period_s`` seconds (first at the first call), errors logged, never raised:
    a failing purge must not stop events and audit from being written. A job that writes to the database
    (``writes``, the default) waits while the database refuses writes.

    ``apart``: the job runs in its own thread, started by the call, and is not started again while a run is under
    way. For long jobs that must not hold the single writer's round — the retention purge reads every camera's
    expired segments each minute: 4,891 queries, about 10 s of the writer's thread at the métropole's size, which
    held every segment's index row back as long (bench/metropole.py, docs/sizing.md)."""

    def __init__(
        self, period_s: float, job: Callable[[datetime], object], *, writes: bool = True, apart: bool = False
    ) -> None:
        self._period = period_s
        self._job = job
        self._last = float("-inf")
        self.writes = writes
        self._apart = apart
        self._running: threading.Thread | None = None

    def __call__(self, now: datetime) -> None:
        tick = time.monotonic()
        if tick - self._last < self._period or (self._running is not None and self._running.is_alive()):
            return
        self._last = tick
        if not self._apart:
            self._run(now)
            return
        self._running = threading.Thread(
            target=self._run, args=(now,), name=f"periodic-{self._period:.0f}s", daemon=True
        )
        self._running.start()

    def _run(self, now: datetime) -> None:
        try:
            self._job(now)
        except Exception:
            log.exception("periodic job %r failed; it will run again in %.0f s", self._job, self._period)

    def wait(self, timeout_s: float) -> None:
        """Let a run under way end (the service stopping), for at most ``timeout_s``."""
        if self._running is not None:
            self._running.join(timeout_s)


class MessageObserver(Protocol):
    """Reads the messages as they pass (metrics, recording gaps: :class:`~vigie.runtime.workers.monitor.
    ServiceMonitor`), on the sink's thread; it stores nothing and must be quick. Its failures are logged, never
    raised: a message is written whatever an observer does with it."""

    def observe(self, msg: object) -> None: ...

    def indexed(self, segments: Sequence[Segment]) -> None: ...

    def tick(self, now: datetime) -> None: ...


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
        journal: WriteJournal | None = None,
        watch: DatabaseWatch | None = None,
        reconcile: Callable[[datetime], dict[str, int]] | None = None,
        flush_at: int = FLUSH_AT,
        monotonic: Callable[[], float] = time.monotonic,
        events_batch: Callable[[], AbstractContextManager[object]] | None = None,
        observers: Sequence[MessageObserver] = (),
        plates: PlateReadSink | None = None,
    ) -> None:
        """``jobs`` (retention, purge) run on this thread, the single writer, each at its own period. Finished
        segments reported by recorders are added to ``segments``; with an ``uploader`` (remote store) they are
        handed to it instead, which indexes each once it is uploaded.

        With a ``journal``, what must not be lost is kept there while the database refuses writes (the ``watch``
        probes it, and finds it lost); ``reconcile(since)`` indexes segment files started since then that the index
        lacks, after an outage, and returns counts for the audit. Without one (tests of the sink alone), a refused
        write raises.

        Buffered writes are written at each ``tick``, at ``close``, or once ``flush_at`` of them wait (1: every
        message written as it comes, as before batching). ``events_batch()`` (``SqlEventRepo.batch``) makes the
        event writes of a round one transaction; without it each event write is its own. ``observers`` see every
        message, the segments indexed, and every round. ``plates`` takes the plate reads (LAPI) as they come."""
        self._aggregator = aggregator
        self._plates = plates
        self._status = status
        self._audit = audit
        self._jobs = (Periodic(PRUNE_EVERY_S, self._prune_health), *jobs)
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
        """Latest recorder health per camera (bounded by the configured cameras)."""
        self._analysis: dict[str, CameraHealth] = {}
        """Latest analysis-worker health per camera (bounded by the configured cameras)."""
        self._watch = watch
        self._reconcile = reconcile
        self.writer: DurableWriter | None = None
        if journal is not None:
            probe = watch.probe if watch is not None else (lambda: None)
            self.writer = DurableWriter(journal, self._store, probe=probe, clock=clock, write_many=self._store_many)
            self.writer.on_recovered = self._recovered
            self.writer.on_unavailable = self._unavailable
        self.not_stored: dict[str, int] = {}
        """What was not written while the database refused writes, by kind (``motion events``): counted, logged."""
        self._flush_at = max(1, flush_at)
        self._segments_due: list[Segment] = []
        self._uploaded_due: list[Segment] = []
        """Segments the uploader stored, to index at the next flush (then their spool files go)."""
        self._statistics_due: list[StatisticBucket] = []
        self._health_due = HealthBatch(HEALTH_REFRESH_S, monotonic)
        self._observations_due: list[Observation] = []
        """Motion observations for the event aggregator, merged into events at the next flush."""
        self._events_batch = events_batch or nullcontext
        self._buffered = 0
        self._observers = tuple(observers)
        self._observer_logged = float("-inf")

    def __call__(self, msg: WorkerMessage | RecorderMessage) -> None:
        self._observe(msg)
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
        elif isinstance(msg, PlateRead):
            self._plate_read(msg)
        elif isinstance(msg, StatisticBucket):
            self._statistic(msg)
        if self._buffered >= self._flush_at:
            self.flush()

    def _statistic(self, bucket: StatisticBucket) -> None:
        if self._statistics is None:
            log.warning("statistics of %s on %s dropped: no statistics store", bucket.module, bucket.camera_id)
        else:
            self._statistics_due.append(bucket)
            self._buffered += 1

    def _observed(self, call: Callable[[Any], None], arg: object) -> None:
        try:
            call(arg)
        except Exception:  # an observer's fault never costs a message its write; a lasting one never floods the log
            now = time.monotonic()
            if now - self._observer_logged >= OBSERVER_LOG_EVERY_S:
                self._observer_logged = now
                log.exception("an observer of the worker messages failed (logged at most once a minute)")

    def _observe(self, msg: WorkerMessage | RecorderMessage) -> None:
        for observer in self._observers:
            self._observed(observer.observe, msg)

    def flush(self) -> None:
        """Write what is buffered: one transaction for the segment rows (uploaded ones included), one for the
        statistics, one for the health reports. Segments and statistics the database refuses go to the journal
        (never dropped); refused health is counted and written again at the next report."""
        self._buffered = 0
        if self._uploader is not None:
            self._uploaded_due.extend(self._uploader.completed())
        if self._segments_due or self._uploaded_due:
            self._flush_segments()
        if self._statistics_due:
            items, self._statistics_due = self._statistics_due, []
            self._keep_many(items, self._add_statistics)
        if self._health_due:
            self._flush_health()
        self._flush_observations()

    def _flush_observations(self) -> None:
        """Merge the round's motion observations into events and close the idle ones: one transaction."""
        due, self._observations_due = self._observations_due, []
        if not self._writable():
            if due:
                self._refused("motion observations", count=len(due))
            return
        try:
            with self._events_batch():
                for observation in due:
                    self._merge(observation)
                self._aggregator.close_idle(self._clock())
        except DatabaseUnavailableError as err:
            if self.writer is None:
                raise
            self._refused("motion observations", err, count=max(1, len(due)))
        except StorageError:
            log.exception("closing idle motion events failed; tried again at the next round")

    def _merge(self, observation: Observation) -> None:
        try:
            self._aggregator.observe(observation)
        except DatabaseUnavailableError:
            raise
        except StorageError as err:  # an event of a batch the database refused: dropped with it, counted
            log.warning("motion observation of %s not merged: %s", observation.camera_id, err)
            self.not_stored["motion observations"] = self.not_stored.get("motion observations", 0) + 1

    def _flush_segments(self) -> None:
        reported, self._segments_due = self._segments_due, []
        uploaded, self._uploaded_due = self._uploaded_due, []
        if self._segments is None:
            log.warning("%d segment(s) recorded but no index is configured", len(reported) + len(uploaded))
            return
        try:
            self._keep_many([*reported, *uploaded], self._index_segments)
        except BaseException:
            if self._uploader is not None:
                self._uploader.not_indexed(uploaded)  # stored, not indexed: the uploader tries them again
            raise
        if self._uploader is not None and uploaded:
            self._uploader.indexed(uploaded)  # indexed or journalled: their spool files can go

    def _flush_health(self) -> None:
        due = self._health_due.take()
        if not self._writable():
            return  # not remembered as written: the next report after the outage writes it
        try:
            record_health(self._status, due)
        except DatabaseUnavailableError as err:
            if self.writer is None:
                raise
            self._refused("camera health", err)
            return
        self._health_due.written(due)

    def _keep_many(self, items: Sequence[Write], write_many: Callable[[Sequence[Write]], None]) -> None:
        """Write ``items`` in one transaction now, or keep them all until the database takes them."""
        if self.writer is None:
            write_many(items)
        else:
            self.writer.submit_many(items, write_many)

    def _index_segments(self, items: Sequence[Write]) -> None:
        if self._segments is not None:
            index_segments(self._segments, items)
            segments = [item for item in items if isinstance(item, Segment)]
            for observer in self._observers:
                self._observed(observer.indexed, segments)

    def _add_statistics(self, items: Sequence[Write]) -> None:
        if self._statistics is not None:
            add_statistics(self._statistics, items)

    def _keep(self, item: Write) -> None:
        """Write ``item`` now, or keep it until the database takes it (never dropped)."""
        if self.writer is None:
            self._store(item)
        else:
            self.writer.submit(item)

    def _store(self, item: Write) -> None:
        """Write one kept item to the database (the journal's writer calls it again for replays)."""
        if isinstance(item, Segment):
            if self._segments is None:
                log.warning("segment %s recorded but no index is configured", item.key)
            else:
                self._index_segments((item,))  # a replay may find it indexed: skipped
        elif isinstance(item, AuditEvent):
            self._audit.append(item)
        elif isinstance(item, Observation):
            if self._alerts is not None:
                self._alerts.raise_alert(item)
        else:
            self._add_statistics((item,))

    def _store_many(self, items: Sequence[Write]) -> None:
        """Write kept items of one kind in one transaction (a journal replay's runs of segments or statistics)."""
        if all(isinstance(item, Segment) for item in items):
            self._index_segments(items)
        elif all(isinstance(item, StatisticBucket) for item in items):
            self._add_statistics(items)
        else:
            for item in items:
                self._store(item)

    def _writable(self) -> bool:
        return self.writer is None or self.writer.writable()

    def _refused(self, what: str, err: DatabaseUnavailableError | None = None, *, count: int = 1) -> None:
        """Something not kept could not be written: counted (and the writer told, when the database said no)."""
        if err is not None and self.writer is not None:
            self.writer.unavailable(err)
        self.not_stored[what] = self.not_stored.get(what, 0) + count

    def _observation(self, observation: Observation) -> None:
        """Event modules raise alerts, pending until a person decides (L28); motion and tracking make events."""
        if observation.module in ALERT_MODULES:
            if self._alerts is None:
                log.warning("alert of %s on %s dropped: no alert service", observation.module, observation.camera_id)
                return
            self._keep(observation)
            return
        if not self._writable():
            self._refused("motion observations")
            return
        self._observations_due.append(observation)
        self._buffered += 1

    def _plate_read(self, read: PlateRead) -> None:
        """A plate read goes to its own store (which matches it against the tenant's hit lists) as it comes, or is
        dropped and counted: never journalled, as a read must not be kept anywhere its retention (L35) does not
        reach — a database outage costs the reads made meanwhile, not their purge."""
        if self._plates is None:
            log.warning("plate read on %s dropped: no plate-read store", read.camera_id)
            self.not_stored["plate reads"] = self.not_stored.get("plate reads", 0) + 1
            return
        if not self._writable():
            self._refused("plate reads")
            return
        try:
            self._plates.record(read)
        except PlateReadRefusedError as err:
            log.warning("plate read on %s refused: %s", read.camera_id, err)
            self.not_stored["plate reads refused"] = self.not_stored.get("plate reads refused", 0) + 1
        except DatabaseUnavailableError as err:
            if self.writer is None:
                raise
            self._refused("plate reads", err)

    def _refusal(self, refusal: GateRefusal) -> None:
        """An unverified activation, audited once per service run however many workers saw it."""
        if refusal.activation_id not in self._refused_activations:
            self._refused_activations.add(refusal.activation_id)
            self._keep(refusal_event(refusal))

    def _transition(self, transition: GateTransition) -> None:
        key = (transition.module, transition.camera_id)
        if transition.opened:
            self._open_gates[key] = transition
        else:
            self._open_gates.pop(key, None)
        self._keep(transition_event(transition))

    def _segment(self, segment: Segment) -> None:
        if self._uploader is not None:
            self._uploader.segment(segment)  # kept in the spool until stored and indexed (its own retries)
            return
        if self._segments is None:
            log.warning("segment %s recorded but no index is configured", segment.key)
            return
        self._segments_due.append(segment)
        self._buffered += 1

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
        self._keep(
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
        self._keep(
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
        """Buffered for the next flush, coalesced per camera (see :class:`HealthBatch`)."""
        if self._health_due.offer(health, self._writable()):
            self._buffered += 1

    def tick(self) -> None:
        now = self._clock()
        for observer in self._observers:
            self._observed(observer.tick, now)
        self._watch_database()
        self.flush()  # idle events closed there, in the round's transaction
        for job in self._jobs:
            if not job.writes or self._writable():
                job(now)

    def _watch_database(self) -> None:
        """Lost (its file gone), refusing writes (a probe, when nothing else wrote), back (the journal written)."""
        writer, watch = self.writer, self._watch
        if writer is None:
            return
        if watch is not None:
            lost = watch.identity_changed()
            if lost is not None:
                writer.lost(lost)
                details = {"reason": lost, "path": str(watch.path), "opened": str(watch.opened)}
                self._keep(AuditEvent(SYSTEM_STORAGE, AuditAction.DATABASE_LOST, "database", details, self._clock()))
                return
            if writer.writable() and watch.probe_due():
                try:
                    watch.probe()
                except DatabaseUnavailableError as err:
                    writer.unavailable(err)
        writer.retry()

    def _unavailable(self, outage: Outage) -> AuditEvent | None:
        """The first entry kept in an outage: when it began and why (a lost database has its own entry)."""
        if outage.lost:
            return None
        journal = self.writer.journal.path if self.writer is not None else None
        details = {"error": outage.error, "journal": str(journal)}
        return AuditEvent(SYSTEM_STORAGE, AuditAction.DATABASE_UNAVAILABLE, "database", details, outage.since)

    def _recovered(self, outage: Outage, replayed: int) -> None:
        """The journal is written: index segment files whose message never came, then audit the outage's end."""
        reconciled: dict[str, int] = {}
        if self._reconcile is not None:
            try:
                reconciled = self._reconcile(outage.since)
            except Exception:
                log.exception("reconciling the segment index after the database came back failed")
        not_stored, self.not_stored = self.not_stored, {}
        if not_stored:
            log.warning("while the database refused writes, not stored: %s", not_stored)
        details = {
            "since": outage.since.isoformat(),
            "error": outage.error,
            "replayed": replayed,
            "reconciled": reconciled,
            "not_stored": not_stored,
        }
        self._keep(AuditEvent(SYSTEM_STORAGE, AuditAction.DATABASE_RECOVERED, "database", details, self._clock()))

    def _prune_health(self, now: datetime) -> None:
        self._status.prune_health_log(now - HEALTH_LOG_RETENTION)

    def close(self) -> None:
        """On shutdown: write what is buffered (uploads under way first), open events, and close every gate still
        open (kept, if the database refuses)."""
        if self._uploader is not None:
            self._uploader.wait(STOP_UPLOADS_S)  # what is not stored by then stays in the spool for the next start
        for job in self._jobs:
            job.wait(STOP_JOBS_S)  # a purge under way ends its segment (a purge cut short finds the rest next time)
        self.flush()
        if self._writable():
            try:
                with self._events_batch():
                    self._aggregator.close_all()
            except DatabaseUnavailableError as err:
                if self.writer is None:
                    raise
                self._refused("motion events", err)
        for camera_id in {camera for _, camera in self._open_gates}:
            self.worker_exited(camera_id, "service stopped")

    def keep(self, event: AuditEvent) -> None:
        """Audit ``event`` now, or keep it in the journal until the database takes it (the service's own entries
        at stop go this way: a stop during an outage loses none)."""
        self._keep(event)

    def flush_kept(self) -> bool:
        """Write what waits in the journal now, if the database takes it (at stop); True when nothing waits."""
        self.flush()
        writer = self.writer
        if writer is None or len(writer.journal) == 0:
            return True
        if writer.outage is not None and writer.outage.lost:
            return False
        try:
            if self._watch is not None:
                self._watch.probe()
        except DatabaseUnavailableError as err:
            writer.unavailable(err)
            return False
        writer.replay_all()
        return len(writer.journal) == 0
