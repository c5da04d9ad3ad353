"""What the service knows of its cameras while it runs, read from the worker messages: the figures of the metrics
(issue 17) and the recording-gap alarms.

The sink (:class:`~vigie.runtime.workers.sink.WorkerMessageSink`) hands every message to :meth:`ServiceMonitor.
observe` on its one thread, the segments it indexed to :meth:`~ServiceMonitor.indexed`, and calls :meth:`~
ServiceMonitor.tick` every round; the metrics endpoint and the health view read copies from other threads, under
one lock held only to copy. Memory: one entry per configured camera and per alert module, and the gap watch's
bounded history.

A recording gap is a system alarm, not an analysis alert: no module, no legal basis, nothing about people — it says
a camera that should record has no footage. It is logged when raised and when cleared, counted in the metrics and
listed in the console's health view while it lasts (it clears when the next segment arrives).

The health view of every process — ``vigie serve`` and each ``vigie api`` beside it — reads the alarms from the
database, not from this memory: the monitor writes what changed in the gap watch (an alarm opened, closed or
withdrawn, a gap found) to its :class:`GapLedger` once per round, from :meth:`~ServiceMonitor.tick`, with the time of
its check (every :data:`RECORD_EVERY` when nothing changed: the API processes' sign that the recordings are
watched). Never per segment: the sink's thread is the single writer and must stay cheap at thousands of cameras. A
refused write is logged and tried again :data:`RETRY_AFTER` later, the changes kept (at most :data:`MAX_PENDING`);
nothing is tried while the database refuses the sink's own writes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from vigie.analytics.rules.registry import MODULES, STATISTICS
from vigie.domain.alerts import Alert
from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.clock import Clock
from vigie.domain.observation import Observation
from vigie.domain.recording import RecordingGap, Segment
from vigie.recording.gaps import KEEP, GapChange, GapWatch
from vigie.runtime.workers.recorder import RecordingHealth

log = logging.getLogger(__name__)
LINES_PER_ROUND = 5
"""Gap changes of one kind logged one line each per round; beyond, one line for them all."""
LINES_PER_WINDOW = 20
"""Lines of one kind of gap change per :data:`LOG_WINDOW`, at most: the rest wait for the window's end and are one
line for them all (cameras recovering a few per round after a node came back are not thousands of lines)."""
LOG_WINDOW = timedelta(seconds=10)

ALERT_MODULES = frozenset(MODULES) - STATISTICS
CHECK_EVERY = timedelta(seconds=1)
"""How often cameras are checked for an open gap (and asked whether they should record)."""
WATCHING_WITHIN = timedelta(seconds=10)
"""The monitor watches the recordings while its last check is at most this old: an API process alone (``vigie
api``) never checks, and a stuck supervisor stops checking; neither may show "every camera records"."""
RECORD_EVERY = timedelta(seconds=5)
"""The check time is written at least this often, changes or not (API processes read it to know the recordings are
watched: :data:`vigie.services.system_health.WATCHED_WITHIN`)."""
RETRY_AFTER = timedelta(seconds=10)
"""After a refused write, the next try (the changes are kept meanwhile)."""
PRUNE_EVERY = timedelta(minutes=10)
"""Gaps ended more than :data:`~vigie.recording.gaps.KEEP` ago are deleted from the ledger this often."""
MAX_PENDING = 20_000
"""Gap changes kept for the ledger while it refuses writes, at most (the oldest dropped beyond, and logged)."""
LOG_REFUSED_EVERY = 30
"""Refused writes in a row logged once every this many tries (five minutes at :data:`RETRY_AFTER`)."""


class GapLedger(Protocol):
    """Where the gap watch's alarms and recent gaps are kept for every process's health view
    (:class:`~vigie.storage.recording_gaps.SqlRecordingGaps`)."""

    def begin(self, at: datetime) -> int:
        """A new run: close what a previous one left open; how many."""
        ...

    def write(
        self,
        gaps: Iterable[RecordingGap],
        withdrawn: Iterable[RecordingGap],
        checked: datetime,
        *,
        prune_before: datetime | None = None,
    ) -> None: ...


@dataclass(slots=True)
class CameraFigures:
    """A camera's latest figures (a reader gets copies). Counters are the workers' own, since their stream started:
    they go back to zero when it restarts (Prometheus's ``rate`` reads that as a reset)."""

    camera_id: str
    recording: HealthState | None = None
    analysis: HealthState | None = None
    packets_per_s: float = 0.0
    """Main stream, recorded: packets per second (video frames, for a video-only stream)."""
    recording_dropped: int = 0
    """Main-stream packets dropped by the recorder (timestamps going back)."""
    decoded_fps: float = 0.0
    analysed_fps: float = 0.0
    analysis_dropped: int = 0
    decode_s: float = 0.0
    inference_s: float = 0.0
    last_indexed_end: datetime | None = None
    gaps: int = 0
    gap_seconds: float = 0.0
    open_gap_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class MonitorSnapshot:
    at: datetime
    cameras: tuple[CameraFigures, ...]
    alerts_raised: tuple[tuple[str, int], ...]
    """Per alert module: alerts raised since the service started."""
    verdicts: tuple[tuple[str, str, int], ...]
    """Per module and verdict: verdicts given since the service started."""


class ServiceMonitor:
    """See the module docstring. ``refusal(camera_id)`` says why a camera may not record now (None: it should);
    a refused camera is not in a gap."""

    def __init__(
        self,
        cameras: Sequence[str],
        gaps: GapWatch,
        *,
        clock: Clock,
        refusal: Callable[[str], str | None] | None = None,
        ledger: GapLedger | None = None,
        writable: Callable[[], bool] = lambda: True,
    ) -> None:
        """``ledger``: where the alarms are written for the health views (none: memory only); ``writable()``
        says whether the database takes writes now (the sink's outage watch)."""
        self._lock = threading.Lock()
        self._clock = clock
        self._refusal = refusal or (lambda _camera_id: None)
        self._window: tuple[datetime, dict[str, int], dict[str, list[GapChange]]] | None = None
        """The log's current window: when it began, lines written per kind, changes held for its summary."""
        self._gaps = gaps
        self._figures = {camera_id: CameraFigures(camera_id) for camera_id in cameras}
        self._raised: dict[str, int] = {}
        self._verdicts: dict[tuple[str, str], int] = {}
        self._checked: datetime | None = None
        self.started = clock()
        self._ledger = ledger
        self._writable = writable
        self._pending: dict[tuple[str, datetime], GapChange] = {}
        """Latest change of each gap not yet in the ledger (changed under the lock)."""
        self._begun = False
        self._recorded: datetime | None = None
        self._pruned: datetime | None = None
        self._retry_at: datetime | None = None
        self._dropped = 0
        self._refused = 0
        """Rounds refused in a row (logged at the first, then every :data:`LOG_REFUSED_EVERY`)."""

    def observe(self, msg: object) -> None:
        """One worker message (the sink's thread)."""
        if isinstance(msg, Segment):
            self._segment(msg)
        elif isinstance(msg, RecordingHealth):
            with self._lock:
                figures = self._figures.get(msg.camera_id)
                if figures is not None:  # a camera not configured here is not ours to count
                    figures.recording = msg.state
                    figures.packets_per_s = msg.packets_per_s
                    figures.recording_dropped = msg.non_monotonic
        elif isinstance(msg, CameraHealth):
            self._analysis(msg)
        elif isinstance(msg, Observation) and msg.module in ALERT_MODULES:
            with self._lock:
                self._raised[msg.module] = self._raised.get(msg.module, 0) + 1

    def indexed(self, segments: Iterable[Segment]) -> None:
        """Segments written to the index (the sink's thread): the segment lag is read from the last one's end."""
        with self._lock:
            for segment in segments:
                figures = self._figures.get(segment.camera_id)
                if figures is not None and (figures.last_indexed_end is None or segment.end > figures.last_indexed_end):
                    figures.last_indexed_end = segment.end

    def verdict(self, alert: Alert) -> None:
        """A person decided an alert (the API's threads)."""
        if alert.verdict is None:
            return
        key = (alert.module, alert.verdict.value)
        with self._lock:
            self._verdicts[key] = self._verdicts.get(key, 0) + 1

    def tick(self, now: datetime) -> None:
        """Every supervisor round: at most every :data:`CHECK_EVERY`, which cameras should record, and which of
        those are silent for too long (an alarm raised); then the round's changes to the ledger."""
        if self._checked is not None and now - self._checked < CHECK_EVERY:
            self._record(now)  # what the segments of the round changed
            return
        self._checked = now
        changes: list[GapChange] = []
        should = {camera_id: self._refusal(camera_id) is None for camera_id in self._figures}
        with self._lock:
            for camera_id, records in should.items():
                if records:
                    self._gaps.expect(camera_id, now)
                else:
                    changes += self._gaps.release(camera_id, now)
            changes += self._gaps.check(now)
            self._count(changes, now)
        self._log(changes, now)
        self._record(now)

    def snapshot(self) -> MonitorSnapshot:
        with self._lock:
            return MonitorSnapshot(
                self._clock(),
                tuple(replace(figures) for figures in self._figures.values()),
                tuple(sorted(self._raised.items())),
                tuple(sorted((module, verdict, n) for (module, verdict), n in self._verdicts.items())),
            )

    def watching(self) -> bool:
        """Whether this process watches the recordings now (see :data:`WATCHING_WITHIN`)."""
        checked = self._checked
        return checked is not None and self._clock() - checked <= WATCHING_WITHIN

    def open_gaps(self) -> list[RecordingGap]:
        """The recording-gap alarms raised now (cameras that should record and have not for too long)."""
        with self._lock:
            return self._gaps.open_gaps()

    def recent_gaps(self, camera_ids: Iterable[str] | None = None) -> list[RecordingGap]:
        """Recording gaps of the last 24 hours (since the service started), open ones included, newest first."""
        with self._lock:
            return self._gaps.recent(self._clock(), camera_ids)

    def _segment(self, segment: Segment) -> None:
        now = self._clock()
        with self._lock:
            changes = self._gaps.segment(segment, now)
            self._count(changes, now)
        self._log(changes, now)

    def _analysis(self, health: CameraHealth) -> None:
        with self._lock:
            figures = self._figures.get(health.camera_id)
            if figures is None:
                return
            figures.analysis = health.state
            figures.decoded_fps = health.fps_decoded
            figures.analysed_fps = health.fps_in
            figures.analysis_dropped = health.frames_dropped
            figures.decode_s = health.decode_s
            figures.inference_s = health.inference_s

    def _record(self, now: datetime) -> None:
        """This round's changes to the ledger, in one write (see the module docstring). Never raises: the sink's
        thread writes the segment index and the audit, whatever happens here."""
        ledger = self._ledger
        if ledger is None:
            return
        due = self._pending or self._recorded is None or now - self._recorded >= RECORD_EVERY
        if not due or (self._retry_at is not None and now < self._retry_at) or not self._writable():
            return
        prune = self._pruned is None or now - self._pruned >= PRUNE_EVERY
        with self._lock:  # the sink's thread alone changes them in the service; a copy costs nothing when quiet
            taken = dict(self._pending)
        changes = taken.values()
        try:
            if not self._begun:
                closed = ledger.begin(now)
                self._begun = True
                if closed:
                    log.info("%d recording gap alarm(s) left open by the previous run closed at its last check", closed)
            ledger.write(
                [c.gap for c in changes if c.kind != "withdrawn"],
                [c.gap for c in changes if c.kind == "withdrawn"],
                now,
                prune_before=now - KEEP if prune else None,
            )
        except Exception as err:  # the database refused: kept, tried again; the writer's round goes on
            self._retry_at = now + RETRY_AFTER
            if self._refused % LOG_REFUSED_EVERY == 0:
                log.warning(
                    "recording gap alarms not written to the database (%s): %d change(s) kept, tried again every "
                    "%.0f s; meanwhile the health views show the last ones written, as not watched",
                    err,
                    len(self._pending),
                    RETRY_AFTER.total_seconds(),
                )
            self._refused += 1
            return
        if self._refused:
            log.info("recording gap alarms written to the database again (%d change(s))", len(taken))
        with self._lock:
            for key, change in taken.items():
                if self._pending.get(key) is change:
                    del self._pending[key]
        self._refused, self._dropped, self._retry_at, self._recorded = 0, 0, None, now
        if prune:
            self._pruned = now

    def _count(self, changes: Sequence[GapChange], now: datetime) -> None:
        """Under the lock: each gap ended (closed, found) counted once, with its seconds; each change kept for the
        ledger (its latest state per gap)."""
        for change in changes:
            if self._ledger is not None:
                self._keep(change)
            figures = self._figures.get(change.gap.camera_id)
            if figures is None:
                continue
            if change.kind == "opened":
                figures.open_gap_since = change.gap.start
            elif change.kind in ("closed", "found"):
                figures.gaps += 1
                figures.gap_seconds += change.gap.seconds(now)
            if change.kind in ("closed", "withdrawn"):
                figures.open_gap_since = None

    def _keep(self, change: GapChange) -> None:
        key = (change.gap.camera_id, change.gap.start)
        self._pending.pop(key, None)  # the latest change last: the oldest are dropped first
        self._pending[key] = change
        if len(self._pending) > MAX_PENDING:
            dropped = self._pending.pop(next(iter(self._pending)))
            self._dropped += 1
            if self._dropped == 1:  # once until a write succeeds: an outage must not flood the log
                log.warning(
                    "recording gap of camera %s from %s, and any older change beyond %d waiting, will not be written "
                    "to the database: the health views may miss them (the log above has each)",
                    dropped.gap.camera_id,
                    dropped.gap.start.isoformat(),
                    MAX_PENDING,
                )

    def _log(self, changes: Sequence[GapChange], now: datetime) -> None:
        """One line per camera, or, for more than :data:`LINES_PER_ROUND` changes of a kind in one round (a
        network or a node down, the index late), one line for them all: thousands of lines a round from the
        writer's thread cost it more than the round (230,333 raises in 30 minutes at 4,891 cameras when the index
        was late, docs/sizing.md) and hide the cause in the log. Beyond :data:`LINES_PER_WINDOW` lines of a kind
        in a :data:`LOG_WINDOW`, the changes wait for the window's end and are one line (the alarms themselves are
        in the health view and the metrics at once)."""
        window = self._window
        if window is None or now - window[0] >= LOG_WINDOW:
            if window is not None:
                for kind, waiting in window[2].items():
                    _summary(kind, waiting, now)
            window = self._window = (now, {}, {})
        _began, lines, held = window
        by_kind: dict[str, list[GapChange]] = {}
        for change in changes:
            by_kind.setdefault(change.kind, []).append(change)
        single: list[GapChange] = []
        for kind, some in by_kind.items():
            room = LINES_PER_WINDOW - lines.get(kind, 0)
            if room <= 0:
                held.setdefault(kind, []).extend(some)
            elif len(some) > LINES_PER_ROUND:
                _summary(kind, some, now)
                lines[kind] = lines.get(kind, 0) + 1
            else:
                single += some[:room]
                lines[kind] = lines.get(kind, 0) + min(room, len(some))
                if len(some) > room:
                    held.setdefault(kind, []).extend(some[room:])
        for change in single:
            _line(change, now)


def _line(change: GapChange, now: datetime) -> None:
    gap = change.gap
    seconds = gap.seconds(now)
    start = gap.start.isoformat()
    if change.kind == "opened":
        log.warning(
            "camera %s: recording gap alarm raised: no segment since %s (%.0f s); check the camera and its "
            "recorder (the console's health view lists it until recording resumes)",
            gap.camera_id,
            start,
            seconds,
        )
    elif change.kind == "closed":
        log.warning(
            "camera %s: recording gap alarm cleared: recording resumed; %.1f s without footage from %s",
            gap.camera_id,
            seconds,
            start,
        )
    elif change.kind == "found":
        log.warning("camera %s: recording gap of %.1f s from %s", gap.camera_id, seconds, start)
    else:
        log.info("camera %s: recording gap alarm cleared: late segments cover it", gap.camera_id)


def _summary(kind: str, changes: Sequence[GapChange], now: datetime) -> None:
    ids = list(dict.fromkeys(c.gap.camera_id for c in changes))
    named = ", ".join(ids[:LINES_PER_ROUND])
    more = len(ids) - LINES_PER_ROUND
    cameras = f"{len(ids)} cameras ({named}, and {more} more)" if more > 0 else f"{len(ids)} cameras ({named})"
    if kind == "opened":
        oldest = min(c.gap.start for c in changes)
        log.warning(
            "recording gap alarms raised for %s: no segment for up to %.0f s; if they share a node, a network or a "
            "site, look there first (the console's health view lists each)",
            cameras,
            (now - oldest).total_seconds(),
        )
    elif kind == "closed":
        log.warning("recording gap alarms cleared for %s: recording resumed", cameras)
    elif kind == "found":
        log.warning("recording gaps found for %s (the console's health view lists each)", cameras)
    else:
        log.info("recording gap alarms withdrawn for %s: late segments cover them", cameras)
