"""Retention of what the sensors left (issue 21): link events go with their cameras' recordings (L3), statistics
after their own configured period.

**Link events** — bookmarks on recordings, cameras put on the wall, domes sent to a preset — each say when something
happened in front of some cameras: metadata of those cameras' recordings, kept no longer than the recordings
themselves (L3, CSI L252-5: the camera's retention, at most 30 days). An event naming several cameras loses each
camera as that camera's retention passes, and goes when none is left. A camera under an active hold (L4) keeps the
events its hold covers (the hold's range holds the event's time): the footage is kept for a procedure and its
bookmarks say where to look; they go at the first run after the hold is lifted, with the footage. A camera no longer
configured gets the legal maximum (30 days), as its footage does.

**Statistics** are totals per bucket that identify no one (L33): they are kept ``sensors.statistics_retention_days``
(a year by default) and then deleted (GDPR art. 5(1)(e)).

Each run that deletes or narrows anything writes one ``deletion`` audit entry per table, as the recordings' purge
does (actor ``system:retention``), and logs its counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.ports import AuditSink
from vigie.domain.recording import Hold
from vigie.domain.sensors import SensorLinkEvent

log = logging.getLogger(__name__)

RETENTION_ACTOR: Final = "system:retention"
"""The same actor as the recordings' purge and the audit log's retention."""


class ExpiringLinkEvents(Protocol):
    """What the retention asks of ``sensor_link_events`` (``vigie.storage.sensors.SqlSensorLinkEvents``)."""

    def carried_out_before(self, before: datetime, limit: int, *, after_id: int = 0) -> list[SensorLinkEvent]: ...

    def forget(self, deleted: Sequence[int], narrowed: Mapping[int, Sequence[str]]) -> None: ...


class ExpiringStatistics(Protocol):
    """What the retention asks of ``sensor_statistics`` (``vigie.storage.sensors.SqlSensorStatistics``)."""

    def purge(self, end_before: datetime) -> int: ...


class ActiveHolds(Protocol):
    def active(self, now: datetime) -> list[Hold]: ...


def kept_cameras(
    event: SensorLinkEvent, now: datetime, retention_for_camera: Callable[[str], timedelta], holds: Sequence[Hold]
) -> tuple[str, ...]:
    """The cameras of ``event`` whose recordings may still show it at ``now``: within the camera's retention, or
    under an active hold whose range holds the event's time. Empty: the event is past every camera's retention."""
    return tuple(
        camera
        for camera in event.cameras
        if event.at >= now - retention_for_camera(camera) or any(_holds(h, camera, event.at, now) for h in holds)
    )


def _holds(hold: Hold, camera: str, at: datetime, now: datetime) -> bool:
    active = hold.lifted_at is None or hold.lifted_at > now
    return active and hold.camera_id == camera and hold.start <= at < hold.end


@dataclass(frozen=True, slots=True)
class SensorPurgeReport:
    link_events_deleted: int = 0
    link_events_narrowed: int = 0
    """Events that lost some of their cameras and kept others."""
    held_kept: int = 0
    """Events past their cameras' retention kept for a hold."""
    statistics_deleted: int = 0


class SensorDataRetention:
    """A periodic job of ``vigie serve`` (see the module docstring); :meth:`run` at ``now``."""

    def __init__(
        self,
        events: ExpiringLinkEvents,
        statistics: ExpiringStatistics,
        *,
        retention_for_camera: Callable[[str], timedelta],
        shortest_retention: timedelta,
        holds: ActiveHolds,
        statistics_retention: timedelta,
        audit: AuditSink,
        batch: int = 500,
    ) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self._events, self._statistics, self._holds, self._audit = events, statistics, holds, audit
        self._retention = retention_for_camera
        self._shortest = shortest_retention
        self._statistics_retention = statistics_retention
        self._batch = batch

    def run(self, now: datetime) -> SensorPurgeReport:
        deleted, narrowed, held_kept = self._purge_link_events(now)
        cutoff = now - self._statistics_retention
        statistics = self._statistics.purge(cutoff)
        report = SensorPurgeReport(deleted, narrowed, held_kept, statistics)
        if deleted or narrowed:
            details = {"deleted": deleted, "narrowed": narrowed, "held_kept": held_kept, "rule": "camera retention"}
            self._audit.append(AuditEvent(RETENTION_ACTOR, AuditAction.DELETION, "sensor_link_events", details, at=now))
        if statistics:
            self._audit.append(
                AuditEvent(
                    RETENTION_ACTOR,
                    AuditAction.DELETION,
                    "sensor_statistics",
                    {
                        "buckets": statistics,
                        "ended_before": format_time(cutoff),
                        "retention_days": self._statistics_retention.days,
                    },
                    at=now,
                )
            )
        if deleted or narrowed or statistics:
            log.info(
                "sensor retention: %d link event(s) deleted, %d narrowed to the cameras still keeping them, "
                "%d kept for a hold; %d statistics bucket(s) deleted",
                deleted,
                narrowed,
                held_kept,
                statistics,
            )
        return report

    def _purge_link_events(self, now: datetime) -> tuple[int, int, int]:
        """Only events older than the shortest retention are read: the others are within every camera's."""
        holds = self._holds.active(now)
        deleted = narrowed = held_kept = 0
        after_id = 0
        while page := self._events.carried_out_before(now - self._shortest, self._batch, after_id=after_id):
            after_id = max(e.id or 0 for e in page)
            gone: list[int] = []
            fewer: dict[int, tuple[str, ...]] = {}
            for event in page:
                if event.id is None:
                    continue
                kept = kept_cameras(event, now, self._retention, holds)
                if not kept:
                    gone.append(event.id)
                elif kept != event.cameras:
                    fewer[event.id] = kept
                if kept and any(event.at < now - self._retention(c) for c in kept):
                    held_kept += 1
            if gone or fewer:
                self._events.forget(gone, fewer)
            deleted, narrowed = deleted + len(gone), narrowed + len(fewer)
        return deleted, narrowed, held_kept
