"""Supervision of camera workers from outside: start, watch heartbeats, kill stuck ones, restart with backoff.

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
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from typing import Any

from vigie.domain.camera import CameraHealth, HealthState
from vigie.ingest.backoff import Backoff
from vigie.runtime.camera_worker import WorkerMessage, WorkerSpec, run_worker

log = logging.getLogger(__name__)
QUEUE_SIZE = 10_000
STABLE_AFTER_S = 60.0


@dataclass(slots=True)
class _Slot:
    spec: WorkerSpec
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
    """Owns one worker process per camera and forwards their messages to ``sink``."""

    def __init__(
        self,
        specs: Sequence[WorkerSpec],
        sink: Callable[[WorkerMessage], None],
        *,
        stall_timeout_s: float = 20.0,
        backoff: Backoff | None = None,
        tick: Callable[[], None] | None = None,
        refusal: Callable[[str], str | None] | None = None,
        on_exit: Callable[[str], None] | None = None,
    ) -> None:
        """``refusal(camera_id)`` returns why a camera may not run now (e.g. its authorisation expired), or None;
        it is asked before every start and on every round, so a camera stops when its right to run ends.
        ``on_exit(camera_id)`` is called on this thread whenever a worker has ended (crashed, killed, stopped)."""
        self._ctx = mp.get_context("spawn")
        self._queue: Any = self._ctx.Queue(QUEUE_SIZE)
        self._slots = {s.stream.camera_id: _Slot(spec=s) for s in specs}
        self._sink = sink
        self._tick = tick
        self._refusal = refusal or (lambda _camera_id: None)
        self._on_exit = on_exit or (lambda _camera_id: None)
        self._stall = stall_timeout_s
        self._backoff = backoff or Backoff()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="camera-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._thread.join(timeout_s + 2)
        for slot in self._slots.values():
            self._terminate(slot, timeout_s)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._drain(0.2)
            now = time.monotonic()
            for camera_id, slot in self._slots.items():
                try:
                    self._check(camera_id, slot, now)
                except Exception:  # one camera's trouble never stops the others
                    log.exception("supervising camera %s failed", camera_id)
            if self._tick is not None:
                self._safe(self._tick)

    def _drain(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                msg: WorkerMessage = self._queue.get(timeout=max(0.0, remaining))
            except queue.Empty:
                return
            slot = self._slots.get(msg.camera_id)
            if slot is not None:
                slot.last_seen = time.monotonic()
                if isinstance(msg, CameraHealth):
                    slot.reported_offline = msg.state is HealthState.OFFLINE
                    if msg.state is HealthState.ONLINE and slot.online_since is None:
                        slot.online_since = slot.last_seen
            self._safe(lambda m=msg: self._sink(m))  # type: ignore[misc]

    def _check(self, camera_id: str, slot: _Slot, now: float) -> None:
        refused = self._refusal(camera_id)
        if refused is not None:
            self._refuse(camera_id, slot, refused)
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
                self._offline(camera_id, slot, now, f"no frames for {self._stall:.0f} s; reconnecting")
            return
        code = proc.exitcode
        slot.process = None
        self._drain(0.0)
        self._exited(slot)
        self._offline(camera_id, slot, now, f"worker stopped (exit code {code}); reconnecting")

    def _refuse(self, camera_id: str, slot: _Slot, reason: str) -> None:
        self._terminate(slot, 1.0)
        if slot.refused != reason:
            health = CameraHealth(camera_id, HealthState.OFFLINE, datetime.now(UTC), reason)
            self._safe(lambda: self._sink(health))
            log.warning("%s", reason)
        slot.refused = reason
        slot.reported_offline = True

    def _offline(self, camera_id: str, slot: _Slot, now: float, reason: str) -> None:
        delay = self._backoff.delay(slot.attempt, slot.rng)
        slot.attempt += 1
        slot.next_start = now + delay
        slot.online_since = None
        if not slot.reported_offline:
            health = CameraHealth(camera_id, HealthState.OFFLINE, datetime.now(UTC), reason)
            self._safe(lambda: self._sink(health))
        slot.reported_offline = True
        log.warning("camera %s offline, retry in %.1f s", camera_id, delay)

    def _spawn(self, slot: _Slot, now: float) -> None:
        slot.stop = self._ctx.Event()
        slot.process = self._ctx.Process(
            target=run_worker,
            args=(slot.spec, self._queue, slot.stop),
            name=f"camera-{slot.spec.stream.camera_id}",
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
        camera_id = slot.spec.stream.camera_id
        self._safe(lambda: self._on_exit(camera_id))

    @staticmethod
    def _safe(fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            log.exception("handling a worker message failed")
