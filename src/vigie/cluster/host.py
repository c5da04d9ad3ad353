"""One camera group hosted in a Ray actor on a cluster node: the same group body as a worker process on a single
host (:func:`~vigie.runtime.workers.recorder.run_recorder_group`,
:func:`~vigie.runtime.workers.analysis.analysis_group`), run in a thread of the actor, its messages kept
in an outbox the control plane drains.

What changes from a single host, and why:

- **Messages are pulled, acknowledged, and sent again until acknowledged.** The control plane (``vigie serve`` on the
  head) calls :meth:`GroupHost.drain` with the sequence number of the last message it handled; the host forgets
  messages only then. A drain whose answer was lost (the control plane restarted, a network cut) is answered again:
  segment-index rows and audit-bearing messages are never lost on the way (the index ignores a segment indexed twice).
- **Segments are uploaded by the node that wrote them.** The spool is the node's own disk; the control plane never
  sees the files. With a remote store (S3), a finished segment is uploaded here first (the project's
  :class:`~vigie.recording.upload.SegmentUploader`, its bounded pool and retries) and reported only once stored; its
  spool file is deleted once the control plane acknowledged the report (indexed or journalled there).
- **The group's exit is the actor's.** A group that must be restarted to reclaim threads stuck in FFmpeg ends the
  actor's process (:meth:`GroupHost.exit_code`): Ray restarts the actor, on this node or another.
- Only metadata leaves the node (segment reports, health, observations, audit-bearing transitions); never frames.
- **The outbox outlives an absent control plane, bounded.** A recording group keeps running while ``vigie serve``
  restarts (its actor is detached: :mod:`vigie.cluster.supervisor`); its outbox then grows until the next control
  plane drains it. Past :data:`COALESCE_AT` messages, health is coalesced (:func:`coalesced`): the group's beats and
  its cameras' health reports are replaced by the latest of each; segment reports and every other message are
  kept, in order.

This module does not import Ray: the actor class is made by :mod:`vigie.cluster.supervisor` with ``ray.remote``,
and tests run a host in-process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vigie.domain.recording import Segment, SegmentStore
from vigie.recording.upload import SegmentUploader
from vigie.runtime.workers.group import CameraSwitch, GroupBeat, HealthReports
from vigie.runtime.workers.recorder import RecorderGroupSpec, run_recorder_group

if TYPE_CHECKING:
    from vigie.ingest.tap_relay import TapRelay
    from vigie.runtime.workers.analysis import AnalysisGroupSpec

log = logging.getLogger(__name__)

CLUSTER_MESSAGE_VERSION = 1
DRAIN_LIMIT = 5_000
"""Messages handed over per drain at most (a control plane back after an absence catches up in several drains)."""
PUMP_S = 0.05
REQUEUE_EVERY_S = 30.0
"""How often spool files not yet uploaded (store down, queue full) are offered again."""
COALESCE_AT = 2_000
"""Messages waiting in an outbox beyond which health is coalesced (two a second per group: ~17 minutes without a
control plane); segment reports are never dropped, so an outbox of segments alone grows without this bound."""


@dataclass(frozen=True, slots=True)
class Drained:
    """Host → control plane, the answer to a drain: where the group runs, and its messages after ``first``."""

    group: str
    node_id: str
    """Ray's id of the node the actor runs on (``VIGIE_NODE`` or the host name outside Ray)."""
    address: str
    pid: int
    incarnation: str
    """New at each start of the actor (a restart by Ray, a move): the control plane re-sends camera switches."""
    first: int
    """Sequence number of ``messages[0]``; the next drain acknowledges up to ``first + len(messages) - 1``."""
    messages: tuple[Any, ...]
    running: bool
    """The group's thread is alive (False once it ended: the actor is about to exit and be restarted)."""
    standby: bool = False
    """Loaded for a move, cameras not started yet (:meth:`vigie.cluster.actor.GroupActor.begin`)."""
    version: int = CLUSTER_MESSAGE_VERSION
    live_port: int = 0
    """The port of the group's live relay on ``address`` (:mod:`vigie.ingest.tap_relay`); 0: none."""
    fingerprint: str = ""
    """The control plane's digest of the group's plan the actor was created with (:mod:`vigie.cluster.adoption`):
    a control plane adopting a running group compares it with its own plan."""
    last_seq: int = 0
    """Sequence number of the last message (numbers have gaps where health was coalesced); 0: counted from
    ``first``."""

    @property
    def last(self) -> int:
        return self.last_seq if self.last_seq else self.first + len(self.messages) - 1


def coalesced(outbox: Iterable[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """The outbox with its health coalesced: of the group's beats (:class:`GroupBeat`), the latest; of its health
    reports (:class:`HealthReports`), one message holding each camera's latest report, at the place (and sequence
    number) of the latest; everything else (segment reports, observations, audit-bearing messages) kept, in order.
    The sink keeps only a camera's latest health anyway; what is lost is the history of health changes while no
    control plane read them (the log lines of those changes)."""
    items = list(outbox)
    last_beat = max((seq for seq, m in items if isinstance(m, GroupBeat)), default=None)
    reports = [(seq, m) for seq, m in items if isinstance(m, HealthReports)]
    latest: dict[str, Any] = {}
    for _, message in reports:
        for report in message.reports:
            latest.pop(report.camera_id, None)  # re-inserted last: the order of the latest reports is kept
            latest[report.camera_id] = report
    last_reports = reports[-1][0] if reports else None
    kept: list[tuple[int, Any]] = []
    for seq, message in items:
        if isinstance(message, GroupBeat):
            if seq == last_beat:
                kept.append((seq, message))
        elif isinstance(message, HealthReports):
            if seq == last_reports:
                kept.append((seq, HealthReports(message.group, tuple(latest.values()))))
        else:
            kept.append((seq, message))
    return kept


class _Out:
    """The group's ``out`` queue: what the group's threads put, the pump takes."""

    def __init__(self) -> None:
        self.items: queue.Queue[Any] = queue.Queue()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.items.put(item)  # unbounded: the outbox's owner, not the group, decides what to keep


class _ForwardIndex:
    """The uploader's index on a node: nothing is indexed here (the control plane indexes what it is told)."""

    def add(self, segment: Segment) -> Segment:
        return segment

    def by_key(self, key: str) -> Segment | None:
        return None


class GroupHost:
    """Runs one camera group in a thread and keeps its messages until the control plane acknowledges them."""

    def __init__(
        self,
        spec: RecorderGroupSpec | AnalysisGroupSpec,
        stopped: frozenset[str] = frozenset(),
        *,
        store: SegmentStore | None = None,
        spool: Path | None = None,
        node_id: str | None = None,
        address: str | None = None,
        relay: TapRelay | None = None,
        fingerprint: str = "",
        coalesce_at: int = COALESCE_AT,
    ) -> None:
        """``store`` and ``spool``: with a remote store, recorded segments are uploaded from ``spool`` before they
        are reported. ``stopped``: cameras not to start (their authorisation ended) until switched on. ``relay``:
        the group's taps served to the API processes (its port is told to the control plane), closed with the
        group. ``fingerprint``: the plan's digest, handed back with every drain. ``coalesce_at``: see
        :data:`COALESCE_AT`."""
        self.spec = spec
        self.relay = relay
        self.fingerprint = fingerprint
        self._coalesce_at = coalesce_at
        self._coalesce_next = coalesce_at
        self.node_id = node_id or os.environ.get("VIGIE_NODE") or socket.gethostname()
        self.address = address or socket.gethostname()
        self.incarnation = uuid.uuid4().hex
        self._out = _Out()
        self._control: queue.Queue[CameraSwitch] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._outbox: deque[tuple[int, Any]] = deque()
        self._next_seq = 1
        self._uploaded: dict[int, Segment] = {}
        """Outbox sequence → stored segment whose spool file goes once the report is acknowledged."""
        self._uploader = (
            SegmentUploader(spool, store, _ForwardIndex())
            if store is not None and spool is not None and isinstance(spec, RecorderGroupSpec)
            else None
        )
        self.exit_code: int | None = None
        """The group's exit code once its thread ended (None while it runs)."""
        self._parent = os.getppid()
        self._thread = threading.Thread(target=self._run, args=(stopped,), name=f"group-{spec.name}", daemon=True)
        self._pump = threading.Thread(target=self._pump_loop, name=f"pump-{spec.name}", daemon=True)
        self._thread.start()
        self._pump.start()

    def _run(self, stopped: frozenset[str]) -> None:
        code = 1
        try:
            if isinstance(self.spec, RecorderGroupSpec):
                try:
                    run_recorder_group(self.spec, self._out, self._control, self._stop, stopped, self._parent)
                except SystemExit as ended:
                    code = int(ended.code or 0)
            else:
                from vigie.runtime.workers.analysis import analysis_group  # only analysis groups load analytics

                code = analysis_group(self.spec, self._out, self._control, self._stop, stopped, parent=self._parent)
        except Exception:
            log.exception("group %s failed", self.spec.name)
        finally:
            self.exit_code = code

    def _keep(self, message: Any) -> int:
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
            self._outbox.append((seq, message))
            if len(self._outbox) > self._coalesce_next:
                before = len(self._outbox)
                self._outbox = deque(coalesced(self._outbox))
                # what cannot be coalesced (segments) stays: the next pass waits for as many new messages again
                self._coalesce_next = max(self._coalesce_at, 2 * len(self._outbox))
                log.warning(
                    "group %s: %d messages not collected by a control plane; health coalesced (%d kept)",
                    self.spec.name,
                    before,
                    len(self._outbox),
                )
            return seq

    def _pump_loop(self) -> None:
        last_requeue = time.monotonic()
        while True:
            ended = self.exit_code is not None
            self._pump_once()
            if ended and self._out.items.empty():
                return
            if self._uploader is not None and time.monotonic() - last_requeue >= REQUEUE_EVERY_S:
                last_requeue = time.monotonic()
                with contextlib.suppress(Exception):  # the store's trouble is logged by the uploader
                    self._uploader.requeue()

    def _pump_once(self) -> None:
        try:
            message = self._out.items.get(timeout=PUMP_S)
        except queue.Empty:
            message = None
        while message is not None:
            if isinstance(message, Segment) and self._uploader is not None:
                self._uploader.segment(message)  # reported once stored (below)
            else:
                self._keep(message)
            try:
                message = self._out.items.get_nowait()
            except queue.Empty:
                message = None
        if self._uploader is not None:
            for stored in self._uploader.completed():
                seq = self._keep(stored)
                with self._lock:
                    self._uploaded[seq] = stored

    def drain(self, ack: int = 0, limit: int = DRAIN_LIMIT) -> Drained:
        """Forget the messages up to ``ack`` (handled by the control plane), hand over the next ones."""
        done: list[Segment] = []
        with self._lock:
            while self._outbox and self._outbox[0][0] <= ack:
                seq, _ = self._outbox.popleft()
                segment = self._uploaded.pop(seq, None)
                if segment is not None:
                    done.append(segment)
            batch = [item for _, item in zip(range(limit), self._outbox, strict=False)]
            if len(self._outbox) < self._coalesce_at:
                self._coalesce_next = self._coalesce_at
        if done and self._uploader is not None:
            self._uploader.indexed(done)  # reported and acknowledged: the spool copy goes
        first = batch[0][0] if batch else ack + 1
        return Drained(
            group=self.spec.name,
            node_id=self.node_id,
            address=self.address,
            pid=os.getpid(),
            incarnation=self.incarnation,
            first=first,
            messages=tuple(message for _, message in batch),
            running=self.exit_code is None,
            live_port=self.relay.port if self.relay is not None else 0,
            fingerprint=self.fingerprint,
            last_seq=batch[-1][0] if batch else ack,
        )

    def switch(self, camera_id: str, run: bool, reason: str = "") -> None:
        """Run a camera of the group again, or stop it (its authorisation ended, L1)."""
        self._control.put(CameraSwitch(camera_id, run, reason))

    def stop(self, timeout_s: float = 15.0) -> bool:
        """Stop the group (recorders finish and report the segment they were writing), wait for the uploads of what
        it reported; returns whether it ended in time. Messages stay in the outbox for the last drains."""
        self._stop.set()
        self._thread.join(timeout_s)
        if self.relay is not None:
            self.relay.close()
        deadline = time.monotonic() + timeout_s
        self._pump.join(max(0.0, deadline - time.monotonic()))
        if self._uploader is not None:
            self._uploader.wait(max(0.0, deadline - time.monotonic()))
            self._pump_once()
        return not self._thread.is_alive()

    def pending(self) -> int:
        """Messages not yet acknowledged."""
        with self._lock:
            return len(self._outbox)
