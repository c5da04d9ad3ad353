"""Time-bucketed totals for the statistics modules (L33): only a count per bucket leaves the module, and a bucket
whose count is below ``min_count`` is reported as suppressed (its value withheld), so a total can never single
out one passer-by. Nothing per person is kept beyond the tracker's short memory in the camera's process."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    """One closed time bucket of a statistics module."""

    module: str
    kind: str
    start: float
    end: float
    value: float | None
    """The total (or mean for occupancy); None when suppressed (count below the minimum)."""


class Buckets:
    """Accumulates per-bucket values; ``close_until(now)`` returns the buckets that ended."""

    def __init__(self, module: str, kind: str, bucket_s: float, min_count: int, mean: bool) -> None:
        if bucket_s <= 0 or min_count < 1:
            raise ValueError("bucket_s must be > 0 and min_count ≥ 1")
        self.module, self.kind, self.bucket_s, self.min_count, self.mean = module, kind, bucket_s, min_count, mean
        self._start: float | None = None
        self._sum = 0.0
        self._samples = 0
        self._peak = 0.0

    def add(self, now: float, value: float) -> list[Bucket]:
        closed = self.close_until(now)
        self._sum += value
        self._samples += 1
        self._peak = max(self._peak, value)
        return closed

    def close_until(self, now: float) -> list[Bucket]:
        if self._start is None:
            self._start = math.floor(now / self.bucket_s) * self.bucket_s
        closed = []
        while now >= self._start + self.bucket_s:
            closed.append(self._close())
        return closed

    def _close(self) -> Bucket:
        assert self._start is not None
        start, end = self._start, self._start + self.bucket_s
        total = self._sum / self._samples if self.mean and self._samples else self._sum
        # The minimum applies to the people counted: a crossing total, or the busiest moment of an occupancy bucket.
        enough = (self._peak if self.mean else self._sum) >= self.min_count
        bucket = Bucket(self.module, self.kind, start, end, round(total, 3) if enough else None)
        self._start, self._sum, self._samples, self._peak = end, 0.0, 0, 0.0
        return bucket

    def reset(self) -> None:
        self._start, self._sum, self._samples, self._peak = None, 0.0, 0, 0.0
