"""Supervision of camera workers from outside: start, watch heartbeats, kill stuck ones, restart with backoff.

Two kinds of workers per camera, each its own process and slot: analysis (``camera_worker``, the sub stream) and
recording (``recorder_worker``, the main stream). A crash, stall or refusal of one never touches the other.

PyAV's in-library timeouts hang on some RTSP failures, so the supervisor never waits on a worker: a worker that
sends nothing for ``stall_timeout`` is killed and restarted. All messages from workers are handed to one sink on
one thread, which makes it the single database writer (no "database is locked" on SQLite).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.process import BaseProcess
from typing import Any

from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.clock import Clock
from vigie.domain.recording import Segment
from vigie.ingest.backoff import Backoff
from vigie.runtime.clock import system_clock
from vigie.runtime.workers.analysis import WorkerMessage, WorkerSpec, run_worker
from vigie.runtime.workers.recorder import RecorderMessage, RecorderSpec, RecordingHealth, run_recorder

log = logging.getLogger(__name__)
QUEUE_SIZE = 10_000
FAILURE_LOG_EVERY_S = 60.0
STABLE_AFTER_S = 60.0
RESTART_AT_ONCE_AFTER_S = 5.0
"""A worker online at least this long restarts at once when it ends; one that dies sooner (a crash loop) backs off."""

SupervisedSpec = WorkerSpec | RecorderSpec
SupervisedMessage = WorkerMessage | RecorderMessage
ANALYSIS = "analysis"
RECORDER = "recorder"


def slot_name(spec: SupervisedSpec) -> str:
    """``analysis:<camera>`` or ``recorder:<camera>``: one slot, one process."""
    if isinstance(spec, RecorderSpec):
        return f"{RECORDER}:{spec.camera_id}"
    return f"{ANALYSIS}:{spec.stream.camera_id}"


def _message_slot(msg: SupervisedMessage) -> str:
    role = RECORDER if isinstance(msg, Segment | RecordingHealth) else ANALYSIS
    return f"{role}:{msg.camera_id}"


def _offline_message(spec: SupervisedSpec, reason: str, at: datetime) -> SupervisedMessage:
    if isinstance(spec, RecorderSpec):
        return RecordingHealth(spec.camera_id, HealthState.OFFLINE, at, reason)
    return CameraHealth(spec.stream.camera_id, HealthState.OFFLINE, at, reason)


@dataclass(slots=True)
class _Slot:
    spec: SupervisedSpec
    process: BaseProcess | None = None
    stop: Any = None
    last_seen: float = 0.0
    started: float = 0.0
    attempt: int = 0
    next_start: float = 0.0
    reported_offline: bool = False
    online_since: float | None = None
    refused: str | None = None
    rng: random.Random = field(default_factory=random.Random)


class CameraSupervisor:
    """Owns the worker processes (analysis and recording, one of each per camera at most) and forwards their
    messages to ``sink``, on one thread."""

    def __init__(
        self,
        specs: Sequence[SupervisedSpec],
        sink: Callable[[SupervisedMessage], None],
        *,
        stall_timeout_s: float = 20.0,
        backoff: Backoff | None = None,
        tick: Callable[[], None] | None = None,
        refusal: Callable[[str], str | None] | None = None,
        on_exit: Callable[[str], None] | None = None,
        clock: Clock = system_clock,
    ) -> None:
        """``refusal(camera_id)`` returns why a camera may not run now (e.g. its authorisation expired), or None;
        it is asked before every start and on every round, so a camera stops when its right to run ends (both its
        analysis and its recording: L1). ``on_exit(camera_id)`` is called on this thread whenever an analysis
        worker has ended (crashed, killed, stopped); a recorder's end does not call it."""
        self._ctx = mp.get_context("spawn")
        self._queue: Any = self._ctx.Queue(QUEUE_SIZE)
        self._slots = {slot_name(s): _Slot(spec=s) for s in specs}
        self._sink = sink
        self._tick = tick
        self._refusal = refusal or (lambda _camera_id: None)
        self._on_exit = on_exit or (lambda _camera_id: None)
        self._clock = clock
        self._stall = stall_timeout_s
        self._backoff = backoff or Backoff()
        self._stopping = threading.Event()
        self._failures: dict[str, tuple[float, int]] = {}
        """Handler failures by message: when last logged, and how many times since (bounded: 100 kinds)."""
        self._thread = threading.Thread(target=self._loop, name="camera-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def pids(self) -> dict[str, int]:
        """Process id of every running worker by slot name (``recorder:cam1``), for diagnosis and tests."""
        return {
            name: slot.process.pid
            for name, slot in list(self._slots.items())
            if slot.process is not None and slot.process.pid is not None
        }

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._thread.join(timeout_s + 2)
        for slot in self._slots.values():
            self._terminate(slot, timeout_s)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._drain(0.2)
            now = time.monotonic()
            for name, slot in self._slots.items():
                try:
                    self._check(name, slot, now)
                except Exception:  # one camera's trouble never stops the others
                    log.exception("supervising %s failed", name)
            if self._tick is not None:
                self._safe(self._tick)

    def _drain(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                msg: SupervisedMessage = self._queue.get(timeout=max(0.0, remaining))
            except queue.Empty:
                return
            slot = self._slots.get(_message_slot(msg))
            if slot is not None:
                slot.last_seen = time.monotonic()
                if isinstance(msg, CameraHealth | RecordingHealth):
                    slot.reported_offline = msg.state is HealthState.OFFLINE
                    if msg.state is HealthState.ONLINE and slot.online_since is None:
                        slot.online_since = slot.last_seen
            self._safe(lambda m=msg: self._sink(m))  # type: ignore[misc]

    def _check(self, name: str, slot: _Slot, now: float) -> None:
        refused = self._refusal(_camera(slot.spec))
        if refused is not None:
            self._refuse(name, slot, refused)
            return
        slot.refused = None
        proc = slot.process
        if proc is None:
            if now >= slot.next_start:
                self._spawn(slot, now)
            return
        if slot.online_since is not None and now - slot.online_since > STABLE_AFTER_S:
            slot.attempt = 0
        if proc.is_alive():
            if now - max(slot.last_seen, slot.started) > self._stall:
                self._terminate(slot, 1.0)
                self._offline(name, slot, now, f"no frames for {self._stall:.0f} s; reconnecting")
            return
        code = proc.exitcode
        slot.process = None
        self._drain(0.0)
        self._exited(slot)
        self._offline(name, slot, now, f"worker stopped (exit code {code}); reconnecting")

    def _refuse(self, name: str, slot: _Slot, reason: str) -> None:
        self._terminate(slot, 1.0)
        if slot.refused != reason:
            health = _offline_message(slot.spec, reason, self._clock())
            self._safe(lambda: self._sink(health))
            log.warning("%s", reason)
        slot.refused = reason
        slot.reported_offline = True

    def _offline(self, name: str, slot: _Slot, now: float, reason: str) -> None:
        if slot.online_since is not None and now - slot.online_since >= RESTART_AT_ONCE_AFTER_S:
            # it was working: its end (kill -9, a stream that dropped) is news, not a camera that keeps failing, so
            # it restarts at once (spread over base·jitter) and backs off only if the new one cannot get online;
            # each second of delay here is a second of video lost (docs/recording.md, bench/worker_kill.py)
            slot.attempt = 0
            delay = self._backoff.base_s * self._backoff.jitter * slot.rng.random()
        else:
            delay = self._backoff.delay(slot.attempt, slot.rng)
            slot.attempt += 1
        slot.next_start = now + delay
        slot.online_since = None
        if not slot.reported_offline:
            health = _offline_message(slot.spec, reason, self._clock())
            self._safe(lambda: self._sink(health))
        slot.reported_offline = True
        log.warning("%s offline, retry in %.1f s", name, delay)

    def _spawn(self, slot: _Slot, now: float) -> None:
        slot.stop = self._ctx.Event()
        spec = slot.spec
        target: Callable[..., None] = run_recorder if isinstance(spec, RecorderSpec) else run_worker
        slot.process = self._ctx.Process(
            target=target,
            args=(spec, self._queue, slot.stop),
            name=slot_name(spec).replace(":", "-"),
            daemon=True,
        )
        slot.process.start()
        slot.started = now
        slot.last_seen = now

    def _terminate(self, slot: _Slot, timeout_s: float) -> None:
        proc = slot.process
        if proc is None:
            return
        if slot.stop is not None:
            slot.stop.set()
        proc.join(min(timeout_s, 1.0))
        if proc.is_alive():
            proc.kill()
            proc.join(timeout_s)
        slot.process = None
        self._drain(0.0)  # what the worker said before it ended is handled before its end is
        self._exited(slot)

    def _exited(self, slot: _Slot) -> None:
        if isinstance(slot.spec, RecorderSpec):
            return  # gates and events belong to analysis; a recorder leaves partial files, recovered at restart
        camera_id = slot.spec.stream.camera_id
        self._safe(lambda: self._on_exit(camera_id))

    def _safe(self, fn: Callable[[], None]) -> None:
        """Run one handler; a failure is logged, never raised (one bad message must not stop the others). The same
        failure repeated (a fault that lasts) is logged with its traceback once per ``FAILURE_LOG_EVERY_S``, then
        counted: a lasting fault must not bury the log."""
        try:
            fn()
        except Exception as err:
            key = f"{type(err).__name__}: {err}"[:200]
            now = time.monotonic()
            last = self._failures.get(key)
            if last is not None and now - last[0] < FAILURE_LOG_EVERY_S:
                self._failures[key] = (last[0], last[1] + 1)
                return
            repeated = f" (and {last[1]} times more since it was last logged)" if last and last[1] else ""
            if len(self._failures) >= 100:
                self._failures.clear()
            self._failures[key] = (now, 0)
            log.exception("handling a worker message failed%s", repeated)


def _camera(spec: SupervisedSpec) -> str:
    return spec.camera_id if isinstance(spec, RecorderSpec) else spec.stream.camera_id
