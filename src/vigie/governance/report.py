"""The compliance report (L11, L22–L24): what ran, where, when and on what authority — computed from the audit
chain alone, so anyone holding a verified export can recompute it.

Intervals come from the gate's own transitions (``gate.opened`` / ``gate.closed``): they show what actually ran,
not only what was authorised. An interval still open when the service stopped is closed at the stop; one still
open at the end of the period is cut there. Every catalogue module without an interval gets an explicit
statement that it did not run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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

    @property
    def modules_never_active(self) -> tuple[str, ...]:
        return tuple(m for m in self.modules if not self.by_module.get(m))


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
    head_seq, head_hash, count = 0, "", 0
    for record in records:
        if record.at > until:
            break
        count += 1
        head_seq, head_hash = record.seq, record.hash
        if record.action in ACTIVATION_ACTIONS and record.at >= since:
            lifecycle.append(
                LifecycleEntry(record.seq, record.at, record.action, record.actor, record.target, dict(record.details))
            )
        _apply(record, open_, intervals, since)
    for (module, camera), running in open_.items():
        _close(intervals, (module, camera), running, until, why="still running at the end of the period", since=since)
    intervals.sort(key=lambda i: (i.module, i.camera_id, i.start))
    by_module: dict[str, list[ActiveInterval]] = {}
    for interval in intervals:
        by_module.setdefault(interval.module, []).append(interval)
    all_modules = tuple(dict.fromkeys([*modules, *by_module]))
    return ComplianceReport(
        since, until, now, all_modules, tuple(intervals), tuple(lifecycle), head_seq, head_hash, count, by_module
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
        key = (str(record.details.get("module", "?")), str(record.details.get("camera_id", "?")))
        if record.action == AuditAction.GATE_OPENED:
            open_.setdefault(key, OpenGate(*key, str(record.details.get("activation_id", "")), record.at))
        elif record.action == AuditAction.GATE_CLOSED:
            open_.pop(key, None)
        elif record.action == AuditAction.SERVICE_STOPPED:
            open_.clear()
    return sorted(open_.values(), key=lambda g: (g.module, g.camera_id))
