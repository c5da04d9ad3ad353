"""Readings turned into time-bucketed totals (issue 21): what Vigie keeps of a sensor, and all it keeps.

A bucket is ``bucket_s`` long, aligned on the epoch, and a reading falls in the bucket of the time Vigie received it
(its own clock: a sensor whose clock is wrong, or a message held by the broker, cannot write into a bucket already
stored). A bucket is handed over once Vigie's clock has passed its end; the readings themselves are never stored.
Memory is bounded: one open bucket per sensor and measure.

A bucket of fewer than ``min_count`` readings keeps its count and withholds its values (the sum and the top of the
speeds, of the ratios), as the counting modules withhold theirs (L33): a bucket of one vehicle would otherwise keep
that vehicle's speed, which a recording of the same street at the same minutes ties to its plate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vigie.devices.sensors.links import Reading
from vigie.devices.sensors.payloads import OccupancyReading, PresenceReading, RadarReading
from vigie.domain.sensors import SensorStatistic


@dataclass(slots=True)
class _Open:
    start: datetime
    count: int = 0
    total: float | None = None
    maximum: float | None = None

    def add(self, value: float | None) -> None:
        self.count += 1
        if value is not None:
            self.total = (self.total or 0.0) + value
            self.maximum = value if self.maximum is None else max(self.maximum, value)


def measure_of(reading: Reading) -> tuple[str, float | None] | None:
    """The measure a reading adds to and the value it adds; None: it adds nothing (a presence that ended)."""
    if isinstance(reading, RadarReading):
        return f"vehicles.{reading.direction}", reading.speed_kmh
    if isinstance(reading, PresenceReading):
        return ("presence", None) if reading.present else None
    if isinstance(reading, OccupancyReading):
        return "occupancy", reading.ratio
    return None


class SensorTotals:
    """The open buckets; :meth:`add` a reading, :meth:`closed` the buckets whose end has passed."""

    def __init__(self, bucket_s: int, min_count: int = 1) -> None:
        if min_count < 1:
            raise ValueError("min_count must be ≥ 1")
        self._bucket = timedelta(seconds=bucket_s)
        self._min_count = min_count
        self._open: dict[tuple[str, str], _Open] = {}

    def start_of(self, at: datetime) -> datetime:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        return epoch + ((at - epoch) // self._bucket) * self._bucket

    def add(self, reading: Reading, received_at: datetime) -> list[SensorStatistic]:
        """Count ``reading`` in its bucket; the bucket of the same measure it closes, if any."""
        found = measure_of(reading)
        if found is None:
            return []
        measure, value = found
        start = self.start_of(received_at)
        key = (reading.sensor, measure)
        current = self._open.get(key)
        done: list[SensorStatistic] = []
        if current is None or current.start != start:
            if current is not None:
                done.append(self._closed(key, current))
            current = self._open[key] = _Open(start)
        current.add(value)
        return done

    def closed(self, now: datetime) -> list[SensorStatistic]:
        """The buckets whose end is at or before ``now``, removed from the open ones."""
        done = [key for key, bucket in self._open.items() if bucket.start + self._bucket <= now]
        return [self._closed(key, self._open.pop(key)) for key in done]

    def all(self) -> list[SensorStatistic]:
        """Every open bucket, closed now (at a stop: a bucket cut short is kept, its end stays the bucket's)."""
        keys = list(self._open)
        return [self._closed(key, self._open.pop(key)) for key in keys]

    def _closed(self, key: tuple[str, str], bucket: _Open) -> SensorStatistic:
        sensor, measure = key
        withheld = bucket.count < self._min_count
        total = None if bucket.total is None or withheld else round(bucket.total, 3)
        maximum = None if withheld else bucket.maximum
        return SensorStatistic(sensor, measure, bucket.start, bucket.start + self._bucket, bucket.count, total, maximum)
