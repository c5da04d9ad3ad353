"""Retention (L3) and holds (L4) as pure functions of their inputs: no clock, no disk, no database.

A segment *expires* when its end is more than the camera's retention before ``now``: the last second it holds
is then older than the law allows. An expired segment is *deletable* unless an active hold covers it. When the
disk is full, the oldest unheld segments go first, expired or not; a held segment is never chosen, whatever the
pressure: the recorder then loses new footage rather than footage a magistrate asked to keep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final

from vigie.config.camera import MAX_RETENTION_DAYS, Camera
from vigie.config.models import VigieConfig
from vigie.domain.recording import Hold, Segment, SegmentState

DESTROYABLE: Final = frozenset({SegmentState.COMPLETE, SegmentState.RECOVERED, SegmentState.QUARANTINED})
"""States whose bytes are in the store, hence subject to retention (quarantined footage is footage too)."""


def retention_days(camera: Camera) -> int:
    """Days ``camera``'s recordings are kept: what its authorisation allows, and never more than 30 (L3)."""
    return min(camera.authorisation.retention_days, MAX_RETENTION_DAYS)


def retention_period(camera: Camera) -> timedelta:
    """:func:`retention_days` as a duration."""
    return timedelta(days=retention_days(camera))


def retention_for(config: VigieConfig) -> Callable[[str], timedelta]:
    """Each camera's retention from the configuration; a camera no longer configured gets the legal maximum
    (30 days), so its old footage is still destroyed, never kept forever."""
    periods = {p.camera.id: retention_period(p.camera) for p in config.placements()}
    fallback = timedelta(days=MAX_RETENTION_DAYS)
    return lambda camera_id: periods.get(camera_id, fallback)


def expired(segment: Segment, now: datetime, retention: timedelta) -> bool:
    """Whether the segment's end is more than ``retention`` before ``now``."""
    return segment.end < now - retention


def held(segment: Segment, holds: Iterable[Hold], now: datetime) -> bool:
    """Whether an active hold covers the segment at ``now``."""
    return any(hold.covers(segment, now) for hold in holds)


def deletable(segment: Segment, now: datetime, retention: timedelta, holds: Iterable[Hold]) -> bool:
    """Expired, still stored, and not covered by an active hold."""
    return segment.state in DESTROYABLE and expired(segment, now, retention) and not held(segment, holds, now)


def purge_plan(
    segments: Iterable[Segment],
    now: datetime,
    retention_for_camera: Callable[[str], timedelta],
    holds: Sequence[Hold],
) -> list[Segment]:
    """The segments to destroy at ``now`` for retention: exactly the deletable ones, in the given order."""
    return [s for s in segments if deletable(s, now, retention_for_camera(s.camera_id), holds)]


def disk_pressure_plan(
    segments_oldest_first: Iterable[Segment],
    bytes_to_free: int,
    holds: Sequence[Hold],
    now: datetime,
) -> list[Segment]:
    """The oldest unheld stored segments whose bytes add up to at least ``bytes_to_free``, expired or not.

    Never a held segment: when everything else is held the plan frees less than asked (possibly nothing).
    """
    plan: list[Segment] = []
    freed = 0
    for segment in segments_oldest_first:
        if freed >= bytes_to_free:
            break
        if segment.state in DESTROYABLE and not held(segment, holds, now):
            plan.append(segment)
            freed += segment.bytes
    return plan
