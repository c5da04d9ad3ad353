"""The purge job: destroys recordings past their retention (L3), never held ones (L4), registers each destruction
(L5) and records one audit entry per run (L11).

Order per segment: the bytes leave the store first, then the index marks the row ``deleted`` and the register
gets its line. A crash in between leaves a row whose bytes are gone: the next run finds no bytes, marks it
``missing`` and reports it, rather than pretending it destroyed something it did not see. A missing file never
stops the run; a database error does (the caller's loop retries later).

When the disk is nearly full the oldest unheld segments go early, expired or not, and an alarm is raised: the
law requires deleting footage at 30 days, not keeping it that long at the cost of losing today's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.ports import AuditSink
from vigie.domain.recording import DestructionRegister, Hold, Segment, SegmentIndex, SegmentState, SegmentStore
from vigie.recording.retention import disk_pressure_plan, held, purge_plan

log = logging.getLogger(__name__)

PURGE_ACTOR: Final = "system:retention"
REASON_RETENTION: Final = "retention"
REASON_DISK_PRESSURE: Final = "disk_pressure"
KEYS_IN_AUDIT: Final = 100
"""At most this many missing or failed keys are named in the audit entry (the counts are always exact)."""


class PurgeIndex(SegmentIndex, Protocol):
    """What the purge needs of the index beyond the port (``vigie.storage.SqlSegmentIndex`` provides it)."""

    def cameras(self) -> list[str]: ...

    def ended_before(self, camera_id: str, before: datetime, limit: int, *, after_id: int = 0) -> list[Segment]: ...

    def oldest_stored(self, limit: int, *, offset: int = 0) -> list[Segment]: ...


class HoldSource(Protocol):
    def active(self, now: datetime) -> list[Hold]: ...


@dataclass(frozen=True, slots=True)
class Tally:
    segments: int = 0
    bytes: int = 0

    def plus(self, segment: Segment) -> Tally:
        return Tally(self.segments + 1, self.bytes + segment.bytes)

    def to_json(self) -> dict[str, int]:
        return {"segments": self.segments, "bytes": self.bytes}


@dataclass(slots=True)
class PurgeReport:
    """What one run did; ``alarm`` is set when the disk was full."""

    at: datetime
    expired: dict[str, Tally] = field(default_factory=dict)
    """Destroyed at the end of their retention, per camera."""
    early: dict[str, Tally] = field(default_factory=dict)
    """Destroyed before the end of their retention because the disk was full, per camera."""
    missing: list[str] = field(default_factory=list)
    """Keys whose bytes were already gone (marked ``missing``)."""
    failed: list[str] = field(default_factory=list)
    """Keys the store could not delete (left as they were, retried next run)."""
    held_kept: int = 0
    """Held segments the run would otherwise have destroyed (expired, or in the way under disk pressure)."""
    disk_full: bool = False
    alarm: str | None = None

    @property
    def destroyed(self) -> int:
        return sum(t.segments for t in (*self.expired.values(), *self.early.values()))

    @property
    def freed_bytes(self) -> int:
        return sum(t.bytes for t in (*self.expired.values(), *self.early.values()))

    def audit_details(self) -> dict[str, Any]:
        return {
            "retention": {camera: t.to_json() for camera, t in sorted(self.expired.items())},
            "disk_pressure": {camera: t.to_json() for camera, t in sorted(self.early.items())},
            "segments": self.destroyed,
            "bytes": self.freed_bytes,
            "missing": len(self.missing),
            "missing_keys": self.missing[:KEYS_IN_AUDIT],
            "failed": len(self.failed),
            "failed_keys": self.failed[:KEYS_IN_AUDIT],
            "held_kept": self.held_kept,
            "disk_full": self.disk_full,
        }


class Purger:
    """One purge pass per :meth:`run`; the composition root calls it periodically (every few minutes)."""

    def __init__(
        self,
        index: PurgeIndex,
        store: SegmentStore,
        *,
        holds_source: HoldSource,
        register: DestructionRegister,
        audit: AuditSink,
        retention_for_camera: Callable[[str], timedelta],
        clock: Callable[[], datetime],
        free_bytes: Callable[[], int],
        min_free_bytes: int,
        batch: int = 500,
    ) -> None:
        if min_free_bytes < 0 or batch < 1:
            raise ValueError(f"min_free_bytes must be >= 0 and batch >= 1, got {min_free_bytes} and {batch}")
        self._index = index
        self._store = store
        self._holds = holds_source
        self._register = register
        self._audit = audit
        self._retention = retention_for_camera
        self._clock = clock
        self._free_bytes = free_bytes
        self._min_free = min_free_bytes
        self._batch = batch

    def run(self) -> PurgeReport:
        """Destroy expired unheld segments, then relieve disk pressure if needed; audit and return what was done."""
        now = self._clock()
        holds = self._holds.active(now)
        report = PurgeReport(at=now)
        for camera_id in self._index.cameras():
            self._purge_camera(camera_id, now, holds, report)
        free = self._free_bytes()
        if free < self._min_free:
            self._relieve_pressure(self._min_free - free, now, holds, report)
        if report.destroyed or report.missing or report.failed or report.disk_full:
            self._audit.append(
                AuditEvent(PURGE_ACTOR, AuditAction.DELETION, "recordings", report.audit_details(), at=now)
            )
        return report

    def _purge_camera(self, camera_id: str, now: datetime, holds: list[Hold], report: PurgeReport) -> None:
        cutoff = now - self._retention(camera_id)
        after_id = 0
        while page := self._index.ended_before(camera_id, cutoff, self._batch, after_id=after_id):
            after_id = max(s.id or 0 for s in page)
            plan = purge_plan(page, now, self._retention, holds)
            report.held_kept += sum(1 for s in page if held(s, holds, now))
            for segment in plan:
                if self._destroy(segment, REASON_RETENTION, now, report):
                    report.expired[camera_id] = report.expired.get(camera_id, Tally()).plus(segment)

    def _relieve_pressure(self, to_free: int, now: datetime, holds: list[Hold], report: PurgeReport) -> None:
        candidates, held_count = self._pressure_candidates(to_free, now, holds)
        plan = disk_pressure_plan(candidates, to_free, holds, now)
        for segment in plan:
            if self._destroy(segment, REASON_DISK_PRESSURE, now, report):
                report.early[segment.camera_id] = report.early.get(segment.camera_id, Tally()).plus(segment)
        early = sum(t.segments for t in report.early.values())
        report.held_kept += held_count
        report.disk_full = True
        report.alarm = f"disk full: purged {early} unheld segments early; {held_count} held segments kept"
        log.warning(report.alarm)

    def _pressure_candidates(self, to_free: int, now: datetime, holds: list[Hold]) -> tuple[list[Segment], int]:
        """Unheld stored segments, oldest first, until they add up to ``to_free``; and how many held were seen."""
        candidates: list[Segment] = []
        available = held_count = offset = 0
        while available < to_free:
            page = self._index.oldest_stored(self._batch, offset=offset)
            if not page:
                break
            offset += len(page)
            for segment in page:
                if held(segment, holds, now):
                    held_count += 1
                elif available < to_free:
                    candidates.append(segment)
                    available += segment.bytes
        return candidates, held_count

    def _destroy(self, segment: Segment, reason: str, now: datetime, report: PurgeReport) -> bool:
        """Destroy one segment; True when its bytes were destroyed now (False: missing or the store failed)."""
        if segment.id is None:
            return False
        try:
            present = self._store.exists(segment.key)
            if present:
                self._store.delete(segment.key)
        except Exception as err:  # one store failure must not keep the other segments past their retention
            log.error("purge: cannot delete segment %s (%s): %s", segment.key, type(err).__name__, err)
            report.failed.append(segment.key)
            return False
        if not present:
            log.warning("purge: segment %s has no bytes in the store; marked missing", segment.key)
            self._index.set_state(segment.id, SegmentState.MISSING, now)
            report.missing.append(segment.key)
            return False
        self._index.set_state(segment.id, SegmentState.DELETED, now)
        self._register.record_destruction(segment, now, reason)
        return True
