"""Many cameras in one worker process: each camera's stream in its own thread, watched from outside the read.

A worker process hosts a *group* of cameras (recording by remux, or analysis of sub-streams): PyAV releases the
GIL while it demuxes, decodes and muxes, so threads of one process share the cores, and the interpreter, the
libraries and (for analysis) the models are loaded once for the group instead of once per camera.

What isolated cameras when each had its process now comes from :func:`host_streams`:

- **a stuck read never blocks its neighbours**: each stream reports progress (a packet, a frame); the group's
  main thread — never inside a read — gives up on a stream without progress for ``stall_s``: it tells the stream
  to stop, reports it, and starts a new thread for the camera. The stuck thread is *abandoned* (a thread blocked
  in FFmpeg cannot be killed); when its read returns it sees it was replaced and ends. More than
  ``MAX_ABANDONED`` threads stuck at once and the process exits, so the supervisor restarts the group (the only
  way to reclaim them);
- **a stream that fails** (camera offline, corrupt data) ends its thread; it is restarted alone, with the same
  backoff as a process was (quick after a stream that was working, growing while it keeps failing);
- **a crashed process** restarts only its own cameras (the supervisor, :mod:`vigie.runtime.workers.supervisor`);
- the supervisor switches single cameras on and off (an authorisation that ends, L1) with :class:`CameraSwitch`
  messages, and sees the group alive through a :class:`GroupBeat` every second, sent from the main thread;
- the cameras' health reports (one a second per camera) leave the group together with its beat, in one
  :class:`HealthReports` (:class:`HealthOutbox`): one message a second per group instead of one per camera.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import random
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from vigie.ingest.backoff import Backoff

log = logging.getLogger(__name__)

BEAT_S = 1.0
ROUND_S = 0.1
MAX_ABANDONED = 8
"""Threads stuck in a read the group gave up on, at most, before the process exits to reclaim them."""
RESTART_AT_ONCE_AFTER_S = 5.0
"""A stream that worked at least this long restarts at once when it ends; one that fails sooner backs off."""
EXIT_ABANDONED = 4
"""Exit code of a group that had to be restarted to reclaim stuck threads."""
STOP_S = 10.0
STOP_FLOWING_S = 2.0
"""At stop, a stream that delivered something within this long is waited for (it answers at its next packet)."""
"""At stop, how long the streams get to end (a recorder finishes and fsyncs the segment it was writing)."""
GROUP_MESSAGE_VERSION = 1
HELD_PER_CAMERA = 16
HEARTBEAT_EVERY_S = 5.0
"""A camera's heartbeats in an unchanged state leave its group at most this often (the sink writes one per camera
every 10 s; the metrics show figures at most this old)."""


@dataclass(frozen=True, slots=True)
class CameraSwitch:
    """Supervisor → group: run a camera or stop it (its authorisation ended, L1), with the reason reported."""

    camera_id: str
    run: bool
    reason: str = ""
    version: int = GROUP_MESSAGE_VERSION


@dataclass(frozen=True, slots=True)
class GroupBeat:
    """Group → supervisor, every second from the group's main thread: the process is alive and what it runs."""

    group: str
    pid: int
    running: tuple[str, ...]
    stalled: tuple[str, ...] = ()
    """Cameras whose thread was given up on (stuck in a read) since the last beat."""
    abandoned: int = 0
    """Threads stuck in a read, abandoned, and still alive."""
    max_rss_bytes: int = 0
    sent: float = 0.0
    """``time.monotonic()`` when it was sent (one clock for every process of the host): the supervisor reads the
    delay of the group's messages from it."""
    version: int = GROUP_MESSAGE_VERSION


@dataclass(frozen=True, slots=True)
class HealthReports:
    """Group → supervisor, with each beat: the health reports its cameras made since the last one — of a camera's
    heartbeats in one state, the latest; every change of state and every failure (offline, with its reason) as it
    came, in order (the last :data:`HELD_PER_CAMERA` while the queue stays full); an unchanged camera's heartbeat
    at most every :data:`HEARTBEAT_EVERY_S`. Health was 89 % of the messages on the supervisor's queue, which the
    single writer takes one at a time (9,782 of 11,000 a second at 4,891 cameras); now one message a second per
    group, with a fifth of the reports (docs/sizing.md, bench/metropole.py)."""

    group: str
    reports: tuple[Any, ...]
    version: int = GROUP_MESSAGE_VERSION


def unpacked(messages: Iterable[Any]) -> Iterator[Any]:
    """A group's messages with its :class:`HealthReports` opened: one report at a time, in order."""
    for message in messages:
        if isinstance(message, HealthReports):
            yield from message.reports
        else:
            yield message


class HealthOutbox:
    """The group's queue as its camera threads see it: health reports (``kinds``, each with a ``camera_id`` and a
    ``state``) are held and sent together by :meth:`send` (the group's main thread, with each beat); every other
    message goes to the queue as it comes, with the caller's blocking.

    A camera's heartbeats that say nothing new leave at most every ``every_s`` (its latest figures; their counters
    are totals, nothing is lost between two); a change of state or reason, a recorder's new segment, or a failure
    leaves with the next beat. A report
    never waits: the queue being full only delays the batch to the next beat, where newer reports replace those
    of the same state."""

    def __init__(
        self,
        out: GroupQueue,
        group: str,
        kinds: tuple[type, ...],
        every_s: float = HEARTBEAT_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._out, self._group, self._kinds = out, group, kinds
        self._every_s, self._monotonic = every_s, monotonic
        self._held: dict[tuple[type, str], list[Any]] = {}
        self._sent: dict[tuple[type, str], tuple[float, Any]] = {}
        """Per camera: when its last report left, and what it said (:func:`_mark`)."""
        self._lock = threading.Lock()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if not isinstance(item, self._kinds):
            self._out.put(item, block, timeout)
            return
        with self._lock:
            self._hold(item)

    def _hold(self, item: Any) -> None:
        held = self._held.setdefault((type(item), item.camera_id), [])
        if held and _mark(held[-1]) == _mark(item) and item.state.value != "offline":
            held[-1] = item  # a heartbeat that says nothing new: only the latest figures matter
        else:
            held.append(item)  # a change (state, reason, segment written), or a failure, is kept, in order
            del held[:-HELD_PER_CAMERA]

    def _due(self, key: tuple[type, str], held: list[Any], now: float) -> bool:
        sent = self._sent.get(key)
        if sent is None or len(held) > 1 or _mark(held[0]) != sent[1] or held[0].state.value == "offline":
            return True
        return now - sent[0] >= self._every_s

    def send(self) -> None:
        now = self._monotonic()
        with self._lock:
            due = {key: held for key, held in self._held.items() if self._due(key, held, now)}
            for key in due:
                del self._held[key]
        reports = tuple(item for held in due.values() for item in held)
        if not reports:
            return
        try:
            self._out.put(HealthReports(self._group, reports), block=False)
        except queue.Full:
            with self._lock:  # kept for the next beat, before anything reported since
                newer = self._held
                self._held = {}
                for item in reports:
                    self._hold(item)
                for held in newer.values():
                    for item in held:
                        self._hold(item)
            return
        with self._lock:
            for key, held in due.items():
                self._sent[key] = (now, _mark(held[-1]))


def _mark(report: Any) -> tuple[Any, str, str | None]:
    """What makes a report news rather than a heartbeat: its state, its reason, and, for a recorder, the segment it
    writes (the one a ``kill -9`` would leave partial: the control plane learns it when it starts, not 5 s later)."""
    return report.state, report.reason, getattr(report, "writing", None)


class StreamBody(Protocol):
    """One camera's stream run in a thread: until ``stop`` is set, or it fails (returns or raises after reporting
    why). It calls ``progress()`` for each packet or frame it handles: a stream without progress is stuck."""

    def __call__(self, stop: threading.Event, progress: Callable[[], None]) -> None: ...


class GroupQueue(Protocol):
    def put(self, item: Any, block: bool = ..., timeout: float | None = ...) -> None: ...


class ControlQueue(Protocol):
    def get(self, block: bool = ..., timeout: float | None = ...) -> Any: ...


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


@dataclass(slots=True)
class _Stream:
    camera_id: str
    body: StreamBody
    enabled: bool = True
    thread: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    last_progress: float = 0.0
    started: float = 0.0
    progressed: bool = False
    attempt: int = 0
    next_start: float = 0.0
    rng: random.Random = field(default_factory=random.Random)


def _max_rss_bytes() -> int:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(kib if sys.platform == "darwin" else kib * 1024)


class StreamHost:
    """The threads of one group's cameras and their watchdog; :func:`host_streams` drives it from the process's
    main thread (tests drive it round by round)."""

    def __init__(
        self,
        group: str,
        bodies: Mapping[str, StreamBody],
        *,
        stall_s: float,
        backoff: Backoff | None = None,
        on_stalled: Callable[[str, str], None] | None = None,
        stopped: frozenset[str] = frozenset(),
        unit: str = "data",
    ) -> None:
        """``unit``: what a stream's progress is (``frames``, ``packets``), for the reason reported when stuck."""
        self.group = group
        self._unit = unit
        self._streams = {
            camera: _Stream(camera, body, enabled=camera not in stopped) for camera, body in bodies.items()
        }
        self._stall = stall_s
        self._backoff = backoff or Backoff()
        self._on_stalled = on_stalled or (lambda _camera, _reason: None)
        self._abandoned: list[threading.Thread] = []
        self._stalled_since_beat: list[str] = []

    @property
    def abandoned(self) -> int:
        self._abandoned = [t for t in self._abandoned if t.is_alive()]
        return len(self._abandoned)

    def running(self) -> tuple[str, ...]:
        return tuple(s.camera_id for s in self._streams.values() if s.thread is not None and s.thread.is_alive())

    def switch(self, order: CameraSwitch) -> None:
        stream = self._streams.get(order.camera_id)
        if stream is None:
            log.warning("group %s: switch for camera %s, which it does not host", self.group, order.camera_id)
            return
        stream.enabled = order.run
        stream.next_start = 0.0  # switched on: starts at the next round, whatever its last failure's backoff
        stream.attempt = 0
        if not order.run:
            stream.stop.set()  # it ends at its next packet; a new thread is started only when switched on again

    def round(self, now: float) -> None:
        for stream in self._streams.values():
            try:
                self._check(stream, now)
            except Exception:  # one camera's trouble never stops the others
                log.exception("group %s: supervising camera %s failed", self.group, stream.camera_id)

    def beat(self) -> GroupBeat:
        stalled, self._stalled_since_beat = tuple(self._stalled_since_beat), []
        pid, rss = os.getpid(), _max_rss_bytes()
        return GroupBeat(self.group, pid, self.running(), stalled, self.abandoned, rss, sent=time.monotonic())

    def stop_all(self, timeout_s: float) -> None:
        """Tell every stream to stop and wait (up to ``timeout_s``) for those that are flowing: they finish what
        they write at their next packet. A stream blocked in a read or still opening would not answer before its
        own timeout (minutes, for a hung camera): it is not waited for — its partial is recovered at next start."""
        now = time.monotonic()
        for stream in self._streams.values():
            stream.stop.set()
        flowing = [
            s.thread
            for s in self._streams.values()
            if s.thread is not None and s.progressed and now - s.last_progress < STOP_FLOWING_S
        ]
        deadline = now + timeout_s
        for thread in flowing:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _check(self, stream: _Stream, now: float) -> None:
        thread = stream.thread
        if thread is not None and thread.is_alive():
            if stream.stop.is_set() and not stream.enabled:
                return  # switched off: it ends at its next packet
            if now - max(stream.last_progress, stream.started) > self._stall:
                self._give_up(stream, now)
            return
        if thread is not None:  # it ended: failed (reported by the body) or switched off
            stream.thread = None
            if stream.enabled:
                self._schedule(stream, now)
        if stream.enabled and now >= stream.next_start:
            self._start(stream, now)

    def _give_up(self, stream: _Stream, now: float) -> None:
        assert stream.thread is not None
        stream.stop.set()
        self._abandoned.append(stream.thread)
        stream.thread = None
        self._stalled_since_beat.append(stream.camera_id)
        reason = f"no {self._unit} for {self._stall:g} s; reconnecting"
        log.warning("group %s: camera %s stuck (%s)", self.group, stream.camera_id, reason)
        self._on_stalled(stream.camera_id, reason)
        self._schedule(stream, now)

    def _schedule(self, stream: _Stream, now: float) -> None:
        worked = stream.progressed and now - stream.started >= RESTART_AT_ONCE_AFTER_S
        if worked:  # it was working: its end is news, not a camera that keeps failing (docs/recording.md)
            stream.attempt = 0
            delay = self._backoff.base_s * self._backoff.jitter * stream.rng.random()
        else:
            delay = self._backoff.delay(stream.attempt, stream.rng)
            stream.attempt += 1
        stream.next_start = now + delay

    def _start(self, stream: _Stream, now: float) -> None:
        stop = threading.Event()
        stream.stop = stop
        stream.started = now
        stream.last_progress = now
        stream.progressed = False

        def progress() -> None:
            stream.last_progress = time.monotonic()
            stream.progressed = True

        def run() -> None:
            try:
                stream.body(stop, progress)
            except BaseException:  # the body reported why; a thread's end must never take the group down
                if not stop.is_set():
                    log.exception("group %s: camera %s ended with an error", self.group, stream.camera_id)

        stream.thread = threading.Thread(target=run, name=f"{self.group}:{stream.camera_id}", daemon=True)
        stream.thread.start()


def host_streams(
    host: StreamHost,
    out: GroupQueue,
    control: ControlQueue,
    stop: StopFlag,
    *,
    parent: int | None = None,
    health: HealthOutbox | None = None,
) -> int:
    """Run the group until ``stop`` is set or the service died (never run orphaned); returns the process's exit
    code: 0, or :data:`EXIT_ABANDONED` when too many threads got stuck and the process must be restarted.
    ``health``: the cameras' held health reports, sent after each beat and once more when the streams ended."""
    parent = os.getppid() if parent is None else parent
    last_beat = float("-inf")
    code = 0
    try:
        while not stop.is_set() and os.getppid() == parent:
            _drain_control(host, control)
            now = time.monotonic()
            host.round(now)
            if now - last_beat >= BEAT_S:
                with contextlib.suppress(queue.Full):  # a lost beat is replaced by the next one
                    out.put(host.beat(), block=False)
                if health is not None:
                    health.send()
                last_beat = now
            if host.abandoned > MAX_ABANDONED:
                log.error("group %s: %d threads stuck in reads; restarting the process", host.group, host.abandoned)
                code = EXIT_ABANDONED
                break
            time.sleep(ROUND_S)
    finally:
        host.stop_all(STOP_S)
        if health is not None:
            health.send()  # the streams' last reports (recording stopped: offline, with the reason)
    return code


def _drain_control(host: StreamHost, control: ControlQueue) -> None:
    while True:
        try:
            order = control.get(block=False)
        except queue.Empty:
            return
        if isinstance(order, CameraSwitch):
            host.switch(order)
