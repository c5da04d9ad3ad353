"""The compliance report (L11, L22–L24): what ran, where, when and on what authority — computed from the audit
chain alone, so anyone holding a verified export can recompute it.

Intervals come from the gate's own transitions (``gate.opened`` / ``gate.closed``): they show what actually ran,
not only what was authorised. An interval still open when the service stopped is closed at the stop; one still
open at the end of the period is cut there. Every catalogue module without an interval gets an explicit
statement that it did not run.

A run killed without a clean stop (``kill -9``, power cut) writes no ``gate.closed``: the next start closes what it
left open at the last time it was seen alive (``gate.closed`` with reason ``unclean_stop``, then
``service.unclean_stop``; see :func:`unclean_stop`). A chain written before that existed may still hold gates open
at a ``service.started``: they are closed at the entry just before that start, the last trace the chain holds
before the new run (the report no longer shows them running through the outage and into the next run).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigie.domain.audit import AuditAction, AuditRecord

ACTIVATION_ACTIONS = frozenset(
    {
        AuditAction.ACTIVATION_REQUESTED,
        AuditAction.ACTIVATION_REFUSED,
        AuditAction.ACTIVATION_APPROVED,
        AuditAction.ACTIVATION_REVOKED,
        AuditAction.STOP_ENGAGED,
        AuditAction.STOP_RELEASED,
    }
)


@dataclass(frozen=True, slots=True)
class ActiveInterval:
    """A module running on a camera from ``start`` to ``end`` (both within the reported period)."""

    module: str
    camera_id: str
    start: datetime
    end: datetime
    activation_id: str
    opened_because: str
    closed_because: str

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class LifecycleEntry:
    """One governance decision (request, refusal, approval, revocation, stop) as recorded in the chain."""

    seq: int
    at: datetime
    action: str
    actor: str
    target: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UntracedOpening:
    """A gate that opened under an activation whose request and two approvals are not in the chain before it:
    rows sealed outside the governance service (e.g. with a stolen key). An auditor must ask why."""

    seq: int
    at: datetime
    module: str
    camera_id: str
    activation_id: str
    requested: bool
    approvals: int


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    since: datetime
    until: datetime
    generated_at: datetime
    modules: tuple[str, ...]
    intervals: tuple[ActiveInterval, ...]
    lifecycle: tuple[LifecycleEntry, ...]
    chain_head_seq: int
    chain_head_hash: str
    records_read: int
    by_module: dict[str, list[ActiveInterval]] = field(default_factory=dict)
    untraced: tuple[UntracedOpening, ...] = ()
    """Openings in the period under activations the chain holds no request and two approvals for."""
    chain_from_seq: int = 1
    """The first entry read: above 1, older entries were pruned (retention) and an activation requested before
    them cannot be traced: its openings are listed in ``untraced`` with that caveat."""

    @property
    def modules_never_active(self) -> tuple[str, ...]:
        return tuple(m for m in self.modules if not self.by_module.get(m))


RESTART_WITHOUT_STOP = "service restarted without a clean stop (closed at the last entry before the restart)"


@dataclass(slots=True)
class _Open:
    start: datetime
    activation_id: str
    reason: str


def build_report(
    records: Iterable[AuditRecord], modules: Sequence[str], since: datetime, until: datetime, now: datetime
) -> ComplianceReport:
    """Read the chain from its beginning up to ``until`` (earlier entries tell what was already running)."""
    if until <= since:
        raise ValueError(f"the period is empty: {since.isoformat()} is not before {until.isoformat()}")
    open_: dict[tuple[str, str], _Open] = {}
    intervals: list[ActiveInterval] = []
    lifecycle: list[LifecycleEntry] = []
    head_seq, head_hash, count, first_seq = 0, "", 0, 1
    previous: datetime | None = None
    traced = _Traced()
    for record in records:
        if record.at > until:
            break
        if count == 0:
            first_seq = record.seq
        count += 1
        head_seq, head_hash = record.seq, record.hash
        traced.read(record, since)
        if record.action in ACTIVATION_ACTIONS and record.at >= since:
            lifecycle.append(
                LifecycleEntry(record.seq, record.at, record.action, record.actor, record.target, dict(record.details))
            )
        if record.action == AuditAction.SERVICE_STARTED and open_ and previous is not None:
            for key, running in list(open_.items()):  # a start means the previous run's workers are gone
                _close(intervals, key, running, max(previous, running.start), why=RESTART_WITHOUT_STOP, since=since)
            open_.clear()
        _apply(record, open_, intervals, since)
        previous = record.at
    for (module, camera), running in open_.items():
        _close(intervals, (module, camera), running, until, why="still running at the end of the period", since=since)
    intervals.sort(key=lambda i: (i.module, i.camera_id, i.start))
    by_module: dict[str, list[ActiveInterval]] = {}
    for interval in intervals:
        by_module.setdefault(interval.module, []).append(interval)
    all_modules = tuple(dict.fromkeys([*modules, *by_module]))
    return ComplianceReport(
        since,
        until,
        now,
        all_modules,
        tuple(intervals),
        tuple(lifecycle),
        head_seq,
        head_hash,
        count,
        by_module,
        tuple(traced.untraced),
        first_seq,
    )


REQUIRED_APPROVALS = 2


class _Traced:
    """Which activations the chain shows requested and approved, and the openings under any other."""

    def __init__(self) -> None:
        self.requested: set[str] = set()
        self.approvals: dict[str, int] = {}
        self.untraced: list[UntracedOpening] = []

    def read(self, record: AuditRecord, since: datetime) -> None:
        if record.action == AuditAction.ACTIVATION_REQUESTED:
            self.requested.add(record.target.removeprefix("activation:"))
        elif record.action == AuditAction.ACTIVATION_APPROVED:
            key = record.target.removeprefix("activation:")
            self.approvals[key] = self.approvals.get(key, 0) + 1
        elif record.action == AuditAction.GATE_OPENED and record.at >= since:
            activation = str(record.details.get("activation_id", ""))
            if activation == "0":
                return  # the demo's simulated footage: no activation by design
            approvals = self.approvals.get(activation, 0)
            if activation not in self.requested or approvals < REQUIRED_APPROVALS:
                self.untraced.append(
                    UntracedOpening(
                        record.seq,
                        record.at,
                        str(record.details.get("module", "?")),
                        str(record.details.get("camera_id", "?")),
                        activation,
                        activation in self.requested,
                        approvals,
                    )
                )


def _apply(
    record: AuditRecord, open_: dict[tuple[str, str], _Open], intervals: list[ActiveInterval], since: datetime
) -> None:
    details = record.details
    if record.action == AuditAction.GATE_OPENED:
        key = (str(details.get("module", "?")), str(details.get("camera_id", "?")))
        if key not in open_:
            open_[key] = _Open(record.at, str(details.get("activation_id", "")), str(details.get("reason", "")))
    elif record.action == AuditAction.GATE_CLOSED:
        key = (str(details.get("module", "?")), str(details.get("camera_id", "?")))
        running = open_.pop(key, None)
        if running is not None:
            _close(intervals, key, running, record.at, why=str(details.get("reason", "")), since=since)
    elif record.action == AuditAction.SERVICE_STOPPED:
        for key, running in list(open_.items()):
            _close(intervals, key, running, record.at, why="service stopped", since=since)
        open_.clear()


def _close(
    intervals: list[ActiveInterval], key: tuple[str, str], running: _Open, end: datetime, *, why: str, since: datetime
) -> None:
    if end <= since:
        return  # entirely before the period
    start = max(running.start, since)
    intervals.append(ActiveInterval(key[0], key[1], start, end, running.activation_id, running.reason, why))


@dataclass(frozen=True, slots=True)
class OpenGate:
    module: str
    camera_id: str
    activation_id: str
    since: datetime


def open_gates(records: Iterable[AuditRecord]) -> list[OpenGate]:
    """Which modules are running on which cameras after ``records`` (read from a service start onwards),
    according to the gate's own audit entries."""
    open_: dict[tuple[str, str], OpenGate] = {}
    for record in records:
        if record.action in (AuditAction.SERVICE_STOPPED, AuditAction.SERVICE_STARTED):
            open_.clear()  # a start means the workers of any earlier run are gone
        _track(record, open_)
    return sorted(open_.values(), key=lambda g: (g.module, g.camera_id))


def _track(record: AuditRecord, open_: dict[tuple[str, str], OpenGate]) -> None:
    key = (str(record.details.get("module", "?")), str(record.details.get("camera_id", "?")))
    if record.action == AuditAction.GATE_OPENED:
        open_.setdefault(key, OpenGate(*key, str(record.details.get("activation_id", "")), record.at))
    elif record.action == AuditAction.GATE_CLOSED:
        open_.pop(key, None)


UNCLEAN_STOP = "unclean_stop"
"""``reason`` of the ``gate.closed`` entries written at start-up for a run that ended without a clean stop."""
SIGNS_OF_LIFE = frozenset(
    {
        AuditAction.SERVICE_STARTED,
        AuditAction.GATE_OPENED,
        AuditAction.GATE_CLOSED,
        AuditAction.STREAM_ALARM,
        AuditAction.ALERT_RAISED,
        AuditAction.MODEL_REFUSED,
    }
)
"""Entries only the running service writes (its start, its workers' gates, alarms and alerts): each proves it was
alive then. Entries a command can write while the service is down (``cli:…`` actors, checkpoints) prove nothing."""


@dataclass(frozen=True, slots=True)
class UncleanStop:
    """A service run that ended without ``service.stopped``: what it left open, and the last time it was seen
    alive (the later of its heartbeat and its own last entry)."""

    started_seq: int
    started_at: datetime
    last_seen: datetime
    last_seen_from: str
    """``heartbeat`` or ``audit entry``: what the last sign of life was."""
    gates: tuple[OpenGate, ...]


def unclean_stop(records: Iterable[AuditRecord], heartbeat: datetime | None) -> UncleanStop | None:
    """Whether the run whose ``service.started`` is the first of ``records`` ended without a clean stop, read from
    that start to the head; ``heartbeat``: the last time that run said it was alive (ignored when before its
    start: a heartbeat of an older run). None when it stopped cleanly, or was already closed as unclean."""
    iterator: Iterator[AuditRecord] = iter(records)
    started = next(iterator, None)
    if started is None or started.action != AuditAction.SERVICE_STARTED:
        return None
    last_seen, source = started.at, "audit entry"
    open_: dict[tuple[str, str], OpenGate] = {}
    for record in iterator:
        if record.action in (AuditAction.SERVICE_STOPPED, AuditAction.SERVICE_UNCLEAN_STOP):
            return None
        if record.action in SIGNS_OF_LIFE and record.at > last_seen:
            last_seen = record.at
        _track(record, open_)
    if heartbeat is not None and heartbeat > last_seen:
        last_seen, source = heartbeat, "heartbeat"
    gates = sorted(open_.values(), key=lambda g: (g.module, g.camera_id))
    return UncleanStop(started.seq, started.at, last_seen, source, tuple(gates))
