"""Time-bucketed totals of the statistics modules (``line_count``, ``occupancy``; L33).

Only these leave the camera's process: a number per bucket, or nothing at all (``value`` None) when the bucket
counted fewer people than the module's minimum, so that a published total never singles anybody out. No frame,
no track, no box is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StatisticBucket:
    camera_id: str
    module: str
    kind: str
    start: datetime
    end: datetime
    value: float | None
    """The total (crossings) or mean (occupancy) of the bucket; None when withheld (below the minimum count)."""
    id: int | None = None


class StatisticsRepo(Protocol):
    def add(self, bucket: StatisticBucket) -> StatisticBucket: ...

    def add_many(self, buckets: Iterable[StatisticBucket]) -> int:
        """Store buckets in one transaction; a bucket already stored keeps its first value. Returns how many were
        new."""
        ...

    def list(
        self,
        *,
        camera_ids: Sequence[str] | None = None,
        module: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> Sequence[StatisticBucket]:
        """Oldest first."""
        ...
