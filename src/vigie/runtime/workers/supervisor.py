"""Supervision of the worker processes from outside: start, watch their beats, kill silent ones, restart with
backoff.

A worker process hosts a group of cameras of one kind (:mod:`vigie.runtime.workers.group`): recording (the main
streams, :mod:`~vigie.runtime.workers.recorder`) or analysis (the sub-streams, :mod:`~vigie.runtime.workers.analysis`),
never both, so a crash or stall of analysis never touches recording. How many cameras a process hosts is
:class:`Grouping` (the ``workers`` section of the configuration). Inside a group, a stuck stream is restarted by the
group's own watchdog; a process that stops beating for ``stall_timeout`` is killed and restarted with its cameras
only. A camera whose right to run ends (L1) is switched off in its group, the others go on.

All messages from workers are handed to one sink on one thread, which makes it the single database writer (no
"database is locked" on SQLite).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from vigie.analytics.detect.batching import SharedDetectorSettings
from vigie.domain.camera import CameraHealth, HealthState
from vigie.domain.clock import Clock
from vigie.domain.cluster import NodeStatus
from vigie.domain.recording import Segment
from vigie.ingest.backoff import Backoff
from vigie.runtime.assembly.gates import GateFactory
from vigie.runtime.clock import system_clock
from vigie.runtime.workers.analysis import AnalysisGroupSpec, WorkerMessage, WorkerSpec, run_analysis_group
from vigie.runtime.workers.group import CameraSwitch, GroupBeat, HealthReports
from vigie.runtime.workers.recorder import (
    RecorderGroupSpec,
    RecorderMessage,
    RecorderSpec,
    RecordingHealth,
    run_recorder_group,
)

log = logging.getLogger(__name__)
QUEUE_SIZE = 10_000
FAILURE_LOG_EVERY_S = 60.0
STABLE_AFTER_S = 60.0
LATE_FACTOR = 3.0
"""A process silent past its stall timeout that keeps using CPU (an overloaded host, not a hang) is given up to
this many times the timeout before it is killed: killing busy processes on a saturated host only adds the cost of
restarting them (a restart storm, seen at 200 cameras on 2 cores)."""
BUSY_WINDOW_S = 2.0
DELAY_WARN_S = 10.0
"""A process whose messages arrive later than this is logged (at most once a minute)."""
START_TIMEOUT_S = 60.0
"""A process that has not beaten yet (imports, the gate, the models) is given this long, or the stall timeout."""
RESTART_AT_ONCE_AFTER_S = 5.0
"""A worker online at least this long restarts at once when it ends; one that dies sooner (a crash loop) backs off."""

SupervisedSpec = WorkerSpec | RecorderSpec
SupervisedMessage = WorkerMessage | RecorderMessage
GroupSpec = AnalysisGroupSpec | RecorderGroupSpec
ANALYSIS = "analysis"
RECORDER = "recorder"


@dataclass(frozen=True, slots=True)
class Grouping:
    """How many cameras one worker process hosts, per kind (``workers`` in the configuration)."""

    recording_per_process: int = 64
    analysis_per_process: int = 16
    detectors: SharedDetectorSettings = field(default_factory=SharedDetectorSettings)
    """How each analysis process runs its shared detectors (``workers.detector``)."""

    def __post_init__(self) -> None:
        if self.recording_per_process < 1 or self.analysis_per_process < 1:
            raise ValueError("a worker process hosts at least one camera")


def slot_name(spec: SupervisedSpec) -> str:
    """``analysis:<camera>`` or ``recorder:<camera>``: a camera's place in its group's process."""
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


def _camera(spec: SupervisedSpec) -> str:
    return spec.camera_id if isinstance(spec, RecorderSpec) else spec.stream.camera_id


def plan_groups(
    specs: Sequence[SupervisedSpec], grouping: Grouping, *, stall_s: float, backoff: Backoff
) -> list[GroupSpec]:
    """The worker processes for these cameras: recorders and analysis never share a process (a crash or a stall
    of analysis never stops recording), each kind cut into groups of at most the configured size, in the order
    given (a camera keeps its group, and so its process, from one start to the next)."""
    recorders = [s for s in specs if isinstance(s, RecorderSpec)]
    analysis = [s for s in specs if isinstance(s, WorkerSpec)]
    groups: list[GroupSpec] = []
    size = grouping.recording_per_process
    for n, at in enumerate(range(0, len(recorders), size)):
        chunk = tuple(recorders[at : at + size])
        groups.append(RecorderGroupSpec(f"{RECORDER}-{n}", chunk, stall_s=stall_s, backoff=backoff))
    by_gate: list[tuple[GateFactory, list[WorkerSpec]]] = []  # factories compare equal, need not hash
    for camera in analysis:  # a process has one gate: cameras whose gates are built differently never share one
        same = next((cameras for gate, cameras in by_gate if gate == camera.gate), None)
        if same is None:
            by_gate.append((camera.gate, [camera]))
        else:
            same.append(camera)
    size = grouping.analysis_per_process
    chunks = [tuple(same[at : at + size]) for _, same in by_gate for at in range(0, len(same), size)]
    for n, cameras in enumerate(chunks):
        groups.append(
            AnalysisGroupSpec(
                f"{ANALYSIS}-{n}",
                cameras,
                cameras[0].gate,
                stall_s=stall_s,
                backoff=backoff,
                detectors=grouping.detectors,
            )
        )
    return groups


@dataclass(slots=True)
class _Member:
    """One camera of a group, as the supervisor sees it."""

    spec: SupervisedSpec
    last_seen: float = 0.0
    reported_offline: bool = False
    refused: str | None = None


@dataclass(slots=True)
class _Slot:
    """One worker process and the cameras it hosts."""

    spec: GroupSpec
    members: dict[str, _Member]
    process: BaseProcess | None = None
    stop: Any = None
    control: Any = None
    last_seen: float = 0.0
    started: float = 0.0
    attempt: int = 0
    next_start: float = 0.0
    online_since: float | None = None
    beaten: bool = False
    """The process has sent its first beat: it is started (imports, gate, models loaded)."""
    delay_s: float = 0.0
    """How late the process's last beat arrived (its messages queue behind one another)."""
    delay_logged: float = float("-inf")
    cpu_ticks: int | None = None
    """The process's CPU time when last looked at while it was late (``/proc``), to tell busy from hung."""
    late_since: float | None = None
    rng: random.Random = field(default_factory=random.Random)

    @property
    def analysis(self) -> bool:
        return isinstance(self.spec, AnalysisGroupSpec)


class CameraSupervisor:
    """Owns the worker processes — each hosting a group of cameras, recording and analysis apart — and forwards
    their messages to ``sink``, on one thread."""

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
        grouping: Grouping | None = None,
    ) -> None:
        """``refusal(camera_id)`` returns why a camera may not run now (e.g. its authorisation expired), or None;
        it is asked on every round, so a camera stops when its right to run ends (both its analysis and its
        recording: L1) — its group is told, the other cameras of the group go on. ``on_exit(camera_id)`` is called
        on this thread for each camera of an analysis process that ended (crashed, killed, stopped); a recorder's
        end does not call it. ``stall_timeout_s``: a stream without data for this long is restarted by its group;
        a group that does not beat for this long is killed and restarted."""
        self._ctx = mp.get_context("spawn")
        self._queue: Any = self._ctx.Queue(QUEUE_SIZE)
        self._backoff = backoff or Backoff()
        self._stall = stall_timeout_s
        groups = plan_groups(specs, grouping or Grouping(), stall_s=stall_timeout_s, backoff=self._backoff)
        self._slots: dict[str, _Slot] = {}
        self._camera_slot: dict[str, str] = {}
        for group in groups:
            members = {slot_name(m): _Member(m) for m in group.cameras}
            self._slots[group.name] = _Slot(group, members)
            for name in members:
                self._camera_slot[name] = group.name
        self._sink = sink
        self._tick = tick
        self._refusal = refusal or (lambda _camera_id: None)
        self._on_exit = on_exit or (lambda _camera_id: None)
        self._clock = clock
        self._stopping = threading.Event()
        self._failures: dict[str, tuple[float, int]] = {}
        """Handler failures by message: when last logged, and how many times since (bounded: 100 kinds)."""
        self._thread = threading.Thread(target=self._loop, name="camera-supervisor", daemon=True)
        self._started_at: datetime | None = None

    def start(self) -> None:
        self._started_at = self._clock()
        self._thread.start()

    def groups(self) -> dict[str, tuple[str, ...]]:
        """The cameras of each worker process by group name (``recorder-0``), for diagnosis and tests."""
        return {name: tuple(_camera(m.spec) for m in slot.members.values()) for name, slot in self._slots.items()}

    def nodes(self) -> list[NodeStatus]:
        """Where the groups run: on a single host, this one node — named ``VIGIE_NODE`` from the environment, or
        the host name — alive while the supervisor runs, with every group placed here and the cameras they host
        (a camera recorded and analysed counts once). The Ray supervisor answers the same for each node."""
        name = os.environ.get("VIGIE_NODE") or socket.gethostname()
        cameras = {_camera(m.spec) for slot in list(self._slots.values()) for m in slot.members.values()}
        alive = self._thread.is_alive() and not self._stopping.is_set()
        cpus = float(os.cpu_count() or 1)
        return [
            NodeStatus(
                node_id=name,
                address=socket.gethostname(),
                alive=alive,
                groups=tuple(self._slots),
                cameras=len(cameras),
                resources=(("CPU", cpus),),
                since=self._started_at,
            )
        ]

    def pids(self) -> dict[str, int]:
        """Process id of every running worker, by group name (``recorder-0``) and by camera slot (``recorder:cam1``:
        the process that runs it; a camera switched off is not listed), for diagnosis and tests."""
        found: dict[str, int] = {}
        for name, slot in list(self._slots.items()):
            if slot.process is not None and slot.process.pid is not None:
                found[name] = slot.process.pid
                for member_name, member in list(slot.members.items()):
                    if member.refused is None:
                        found[member_name] = slot.process.pid
        return found

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop every process at once and keep forwarding what they send while they close their streams (the
        segments being written are finished and sent to be indexed), for up to ``timeout_s``; then kill what is
        left. Stopping them one after the other without reading their messages left the last segment of most
        cameras unindexed (their processes blocked on a full pipe; measured at 200 cameras)."""
        self._stopping.set()
        self._thread.join(5.0)
        for slot in self._slots.values():
            if slot.stop is not None:
                slot.stop.set()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(
            slot.process is not None and slot.process.is_alive() for slot in self._slots.values()
        ):
            self._drain(0.1)
        for slot in self._slots.values():
            self._terminate(slot, 1.0)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._drain(0.2)
            now = time.monotonic()
            for name, slot in self._slots.items():
                try:
                    self._check(name, slot, now)
                except Exception:  # one group's trouble never stops the others
                    log.exception("supervising %s failed", name)
            if self._tick is not None:
                self._safe(self._tick)

    def _drain(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                msg: SupervisedMessage | GroupBeat | HealthReports = self._queue.get(timeout=max(0.0, remaining))
            except queue.Empty:
                return
            if isinstance(msg, GroupBeat):
                self._beat(msg)
                continue
            if isinstance(msg, HealthReports):
                for report in msg.reports:
                    self._message(report)
                continue
            self._message(msg)

    def _message(self, msg: SupervisedMessage) -> None:
        slot_id = self._camera_slot.get(_message_slot(msg))
        slot = self._slots.get(slot_id) if slot_id is not None else None
        if slot is not None:
            seen = time.monotonic()
            slot.last_seen = seen
            member = slot.members[_message_slot(msg)]
            member.last_seen = seen
            if isinstance(msg, CameraHealth | RecordingHealth):
                member.reported_offline = msg.state is HealthState.OFFLINE
        self._safe(lambda m=msg: self._sink(m))  # type: ignore[misc]

    def _beat(self, beat: GroupBeat) -> None:
        slot = self._slots.get(beat.group)
        if slot is None or slot.process is None or slot.process.pid != beat.pid:
            return  # a beat of a process that was replaced
        slot.last_seen = time.monotonic()
        slot.beaten = True
        if beat.running and slot.online_since is None:
            slot.online_since = slot.last_seen
        slot.delay_s = max(0.0, slot.last_seen - beat.sent) if beat.sent else 0.0
        if slot.delay_s > DELAY_WARN_S and slot.last_seen - slot.delay_logged >= FAILURE_LOG_EVERY_S:
            slot.delay_logged = slot.last_seen
            log.warning(
                "%s: its messages arrive %.0f s late (segment index, health and audit of %d cameras behind): the "
                "host is overloaded; smaller groups (workers section) or fewer cameras per host",
                beat.group,
                slot.delay_s,
                len(slot.members),
            )

    def delays(self) -> dict[str, float]:
        """How late each process's messages arrived at its last beat (seconds), for diagnosis and tests."""
        return {name: slot.delay_s for name, slot in self._slots.items()}

    def _check(self, name: str, slot: _Slot, now: float) -> None:
        stopped = self._switch(slot)
        proc = slot.process
        if proc is None:
            if now >= slot.next_start and len(stopped) < len(slot.members):
                self._spawn(slot, now, stopped)
            return
        if len(stopped) == len(slot.members):  # every camera of the group refused: no process for nothing
            self._terminate(slot, 1.0)
            slot.next_start = now
            return
        if slot.online_since is not None and now - slot.online_since > STABLE_AFTER_S:
            slot.attempt = 0
        if proc.is_alive():
            allowed = self._stall if slot.beaten else max(self._stall, START_TIMEOUT_S)
            silent = now - max(slot.last_seen, slot.started)
            if silent <= allowed:
                slot.late_since = slot.cpu_ticks = None
                return
            if silent <= allowed * LATE_FACTOR and self._busy(name, slot, now):
                return  # late but computing: an overloaded host; a restart would only add its cost
            self._terminate(slot, 1.0)
            self._offline(name, slot, now, f"worker process silent for {silent:.0f} s; restarting")
            return
        code = proc.exitcode
        slot.process = None
        self._drain(0.0)
        self._exited(slot)
        self._offline(name, slot, now, f"worker stopped (exit code {code}); reconnecting")

    def _busy(self, name: str, slot: _Slot, now: float) -> bool:
        """Whether a late process is using CPU (starved on an overloaded host, not hung): its CPU time moved
        during each window of ``BUSY_WINDOW_S`` since it became late. Unknown (no ``/proc``): not busy."""
        assert slot.process is not None and slot.process.pid is not None
        ticks = cpu_ticks(slot.process.pid)
        if ticks is None:
            return False
        if slot.late_since is None or slot.cpu_ticks is None:
            slot.late_since, slot.cpu_ticks = now, ticks
            log.warning("%s has not reported for %.0f s; watching whether it is busy or hung", name, self._stall)
            return True
        if now - slot.late_since < BUSY_WINDOW_S:
            return True  # measuring
        busy = ticks > slot.cpu_ticks
        slot.late_since, slot.cpu_ticks = now, ticks
        return busy

    def _switch(self, slot: _Slot) -> frozenset[str]:
        """Ask each camera's refusal; tell the running process of every change. Returns the cameras refused."""
        refused: set[str] = set()
        for member in slot.members.values():
            camera_id = _camera(member.spec)
            reason = self._refusal(camera_id)
            if reason is not None:
                refused.add(camera_id)
            if reason == member.refused:
                continue
            member.refused = reason
            if slot.control is not None:
                slot.control.put(CameraSwitch(camera_id, reason is None, reason or ""))
            if reason is not None:
                health = _offline_message(member.spec, reason, self._clock())
                self._safe(lambda h=health: self._sink(h))  # type: ignore[misc]
                member.reported_offline = True
                log.warning("%s", reason)
        return frozenset(refused)

    def _offline(self, name: str, slot: _Slot, now: float, reason: str) -> None:
        if slot.online_since is not None and now - slot.online_since >= RESTART_AT_ONCE_AFTER_S:
            # it was working: its end (kill -9, a crash) is news, not a process that keeps failing, so it restarts
            # at once (spread over base·jitter) and backs off only if the new one cannot get online; each second
            # of delay here is a second of video lost for every camera of the group (bench/worker_kill.py)
            slot.attempt = 0
            delay = self._backoff.base_s * self._backoff.jitter * slot.rng.random()
        else:
            delay = self._backoff.delay(slot.attempt, slot.rng)
            slot.attempt += 1
        slot.next_start = now + delay
        slot.online_since = None
        at = self._clock()
        for member in slot.members.values():
            if not member.reported_offline and member.refused is None:
                health = _offline_message(member.spec, reason, at)
                self._safe(lambda h=health: self._sink(h))  # type: ignore[misc]
            member.reported_offline = True
        log.warning("%s offline (%d cameras), retry in %.1f s", name, len(slot.members), delay)

    def _spawn(self, slot: _Slot, now: float, stopped: frozenset[str]) -> None:
        slot.stop = self._ctx.Event()
        slot.control = self._ctx.Queue()
        spec = slot.spec
        target: Callable[..., None] = run_analysis_group if isinstance(spec, AnalysisGroupSpec) else run_recorder_group
        slot.process = self._ctx.Process(
            target=target,
            args=(spec, self._queue, slot.control, slot.stop, stopped, os.getpid()),
            name=spec.name,
            daemon=True,
        )
        slot.process.start()
        slot.started = now
        slot.last_seen = now
        slot.beaten = False
        slot.late_since = None
        slot.cpu_ticks = None

    def _terminate(self, slot: _Slot, timeout_s: float) -> None:
        proc = slot.process
        if proc is None:
            return
        if slot.stop is not None:
            slot.stop.set()
        proc.join(min(timeout_s, 3.0))  # the group stops its streams (closing segments) within 2 s
        if proc.is_alive():
            proc.kill()
            proc.join(timeout_s)
        slot.process = None
        slot.control = None
        self._drain(0.0)  # what the worker said before it ended is handled before its end is
        self._exited(slot)

    def _exited(self, slot: _Slot) -> None:
        slot.control = None
        if not slot.analysis:
            return  # gates and events belong to analysis; a recorder leaves partial files, recovered at restart
        for member in slot.members.values():
            camera_id = _camera(member.spec)
            self._safe(lambda c=camera_id: self._on_exit(c))  # type: ignore[misc]

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


def cpu_ticks(pid: int) -> int | None:
    """CPU time (user + system, clock ticks) a process has used, from Linux's ``/proc/<pid>/stat``; None
    elsewhere or when it is gone. Read by hand: one line of the kernel's, no library needed for it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after the command name, which may hold spaces
    try:
        return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of the line
    except (IndexError, ValueError):
        return None
