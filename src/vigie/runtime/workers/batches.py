"""What the writer thread (the sink) buffers between two supervisor rounds, and how a round's buffer is written in
one transaction per kind (issue 16: hundreds of cameras report to one thread).

Camera health is coalesced: per camera, the latest report of a state replaces the one waiting, a change of state
waits after it (so the health log still has every change), and a report that changes nothing and was written less
than ``refresh_s`` ago is not written at all. Segment rows and statistics are written with the repositories'
multi-row methods when they have them (``add_many``), one row at a time otherwise (test doubles).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vigie.domain.camera import CameraHealth
from vigie.domain.ports import CameraStatusRepo
from vigie.domain.recording import Segment, SegmentIndex
from vigie.domain.statistics import StatisticBucket, StatisticsRepo


class HealthBatch:
    """Health reports waiting for the next flush (bounded by the cameras and their changes within a round)."""

    def __init__(self, refresh_s: float, monotonic: Callable[[], float]) -> None:
        self._refresh = refresh_s
        self._monotonic = monotonic
        self._due: dict[str, list[CameraHealth]] = {}
        self._written: dict[str, tuple[str, str, float]] = {}
        """Per camera: the state and reason last written, and when (monotonic). Bounded by the cameras."""

    def __bool__(self) -> bool:
        return bool(self._due)

    def offer(self, health: CameraHealth, writable: bool) -> bool:
        """Keep ``health`` for the next flush if it says something new; True when it adds a row to write. While
        the database refuses writes (``writable`` false) a new report is not kept: the next one after is."""
        due = self._due.get(health.camera_id)
        if due:
            if (due[-1].state, due[-1].reason) == (health.state, health.reason):
                due[-1] = health  # the latest figures (fps, dropped frames) win
                return False
            due.append(health)
            return True
        last = self._written.get(health.camera_id)
        if (
            last is not None
            and last[:2] == (health.state, health.reason)
            and self._monotonic() - last[2] < self._refresh
        ):
            return False
        if not writable:
            return False
        self._due[health.camera_id] = [health]
        return True

    def take(self) -> dict[str, list[CameraHealth]]:
        """What waits, per camera, in order; the batch is empty after."""
        due, self._due = self._due, {}
        return due

    def written(self, due: dict[str, list[CameraHealth]]) -> None:
        """``due`` (from :meth:`take`) is in the database."""
        now = self._monotonic()
        for camera_id, reports in due.items():
            self._written[camera_id] = (reports[-1].state, reports[-1].reason, now)


def record_health(status: CameraStatusRepo, due: dict[str, list[CameraHealth]]) -> None:
    """Write a round's health reports in one transaction."""
    status.record_many([health for per_camera in due.values() for health in per_camera])


def index_segments(index: SegmentIndex, items: Sequence[object]) -> None:
    """Index new segments in one transaction (a key already indexed — a replay, a second report — is skipped); a
    segment that carries an id is indexed already."""
    segments = [item for item in items if isinstance(item, Segment) and item.id is None]
    if segments:
        index.add_many(segments)


def add_statistics(repo: StatisticsRepo, items: Sequence[object]) -> None:
    """Store statistics buckets in one transaction; a bucket already stored keeps its value."""
    buckets = [item for item in items if isinstance(item, StatisticBucket)]
    if buckets:
        repo.add_many(buckets)
