"""Recorded video: segments, where their bytes live, holds and destruction (L3–L5, L13–L14).

Pure types and ports; the segment writer lives in ``recording/``, the SQL index and byte stores in ``storage/``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol


class SegmentState(enum.StrEnum):
    """Where a segment is in its life."""

    COMPLETE = "complete"
    """Closed normally: its bytes, duration and SHA-256 are final."""
    RECOVERED = "recovered"
    """Found partial after a crash and finalised (its end is where the data stopped)."""
    QUARANTINED = "quarantined"
    """Found partial or unreadable after a crash and kept aside, out of playback and exports."""
    MISSING = "missing"
    """Indexed, but its bytes are gone from the store (reported, never silently dropped from the index)."""
    DELETED = "deleted"
    """Destroyed at the end of its retention (the row stays for the destruction register, L5)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One continuous piece of a camera's main stream, remuxed (never transcoded) into one file."""

    camera_id: str
    key: str
    """Where the bytes are in the segment store (a relative path or an object key)."""
    start: datetime
    end: datetime
    bytes: int
    sha256: str
    state: SegmentState = SegmentState.COMPLETE
    id: int | None = None

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class Hold:
    """A judicial or requisition hold (L4): segments of ``camera_id`` overlapping [start, end) are never deleted
    while the hold is not lifted."""

    camera_id: str
    start: datetime
    end: datetime
    requisition_ref: str
    case_number: str
    officer: str
    placed_at: datetime
    lifted_at: datetime | None = None
    id: int | None = None
    placed_by: str = ""
    """Who recorded the hold in Vigie (the officer is who asked for it)."""
    lifted_by: str | None = None
    lift_reason: str | None = None

    def covers(self, segment: Segment, now: datetime) -> bool:
        """Whether this hold protects ``segment`` at ``now``."""
        active = self.lifted_at is None or self.lifted_at > now
        return active and segment.camera_id == self.camera_id and segment.start < self.end and segment.end > self.start


class SegmentStore(Protocol):
    """Where segment bytes live: the local filesystem by default, an S3 bucket at scale."""

    def put(self, key: str, source: Path) -> int:
        """Store the file ``source`` under ``key`` (atomically: a reader never sees half an object); return its
        size in bytes."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Read the bytes stored under ``key``; raise ``FileNotFoundError`` when there are none."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        ...

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key under ``prefix`` (for reconciliation with the index)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path to the bytes when the store is local (files served without Python loops), else None."""
        ...


class SegmentIndex(Protocol):
    """The database index of segments (camera, start, end, bytes, SHA-256, state)."""

    def add(self, segment: Segment) -> Segment: ...

    def add_many(self, segments: Iterable[Segment]) -> int:
        """Index new segments in one transaction; a key already indexed is skipped (a batch written again after
        an outage neither fails nor duplicates). Returns how many were added."""
        ...

    def by_key(self, key: str) -> Segment | None: ...

    def set_state(self, segment_id: int, state: SegmentState, at: datetime) -> None: ...

    def between(self, camera_id: str, start: datetime, end: datetime) -> list[Segment]:
        """Playable segments (complete or recovered) of ``camera_id`` overlapping [start, end), by start time."""
        ...

    def oldest(self, limit: int) -> list[Segment]:
        """The oldest playable segments, all cameras, for purging."""
        ...


@dataclass(frozen=True, slots=True)
class DestructionRecord:
    """The register line of one recording (L5, R252-11): when it was transmitted to the prosecutor under a
    requisition, and when it was destroyed. Either date may still be unknown (``None``)."""

    segment_id: int
    camera_id: str
    key: str
    start: datetime
    end: datetime
    sha256: str
    destroyed_at: datetime | None = None
    reason: str = ""
    """Why it was destroyed: ``retention`` (end of the retention period) or ``disk_pressure`` (disk full)."""
    transmitted_to_prosecutor_at: datetime | None = None
    id: int | None = None


class HoldRepo(Protocol):
    """Where holds (L4) are kept; a hold is lifted, never deleted."""

    def place(self, hold: Hold) -> Hold:
        """Store a new hold; return it with its id."""
        ...

    def lift(self, hold_id: int, at: datetime, by: str, reason: str) -> Hold:
        """Mark the hold lifted; raise ``LookupError`` when there is no such hold, ``ValueError`` when already
        lifted."""
        ...

    def get(self, hold_id: int) -> Hold | None: ...

    def active(self, now: datetime) -> list[Hold]:
        """Holds not lifted at ``now``."""
        ...

    def all(self) -> list[Hold]:
        """Every hold, lifted or not, oldest first."""
        ...


class DestructionRegister(Protocol):
    """The destruction register (L5): one line per recording destroyed or transmitted to the prosecutor."""

    def record_destruction(self, segment: Segment, at: datetime, reason: str) -> DestructionRecord: ...

    def record_transmission(self, segment: Segment, at: datetime) -> DestructionRecord: ...

    def all(self) -> list[DestructionRecord]:
        """Every line, by segment start."""
        ...


@dataclass(frozen=True, slots=True)
class RecordingGap:
    """A stretch of time without footage on a camera that should have recorded. ``end`` None: still open."""

    camera_id: str
    start: datetime
    end: datetime | None
    noticed: datetime
    """When it was found (the arrival of the next segment, or a check that found the camera silent)."""

    @property
    def open(self) -> bool:
        return self.end is None

    def seconds(self, now: datetime) -> float:
        return ((self.end or now) - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class GapReport:
    """What the recording-gap watch of ``vigie serve`` last recorded for some cameras (issue 17), as every API
    process reads it."""

    watched_at: datetime | None
    """When the watch last said it was checking the cameras (None: never)."""
    alarms: tuple[RecordingGap, ...]
    """Gaps open now (the alarms), oldest first."""
    listed: tuple[RecordingGap, ...]
    """Gaps of the period asked, open ones included, newest first, at most the number asked."""
    count: int
    """Gaps of the period, listed or not."""
    closed_seconds: float
    """Seconds without footage of the period's closed gaps (the open ones grow with the time: add them)."""
