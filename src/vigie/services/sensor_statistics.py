"""Reading the sensors' statistics (issue 21): a sensor's, or its commune's sensors', totals per period, for the
people who read the platform's statistics (``read_alerts``, as the alerts' false-positive statistics), of their own
commune's sensors only.

What is stored is already totals per bucket, the values of a bucket of fewer than ``sensors.min_count`` readings
withheld (:mod:`vigie.devices.sensors.statistics`). A read withholds them again by the same rule, with the minimum
configured now (a bucket written under a lower minimum shows no more than the writer would keep today), and a
period of several buckets takes its mean and top from the buckets that keep theirs only: the count of a period is
every reading's, its values never come from a bucket below the minimum (L33). Each read is audited as a ``search``
of resource ``sensor_statistics``; a sensor of another commune is an ``access.denied`` and a 404.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.ports import AuditSink
from vigie.domain.sensors import SensorStatistic
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal
from vigie.services.events import InvalidQuery

LOCAL_TIME: Final = ZoneInfo("Europe/Paris")
"""A day is a French commune's day: from local midnight to local midnight."""
MAX_RANGE: Final = timedelta(days=31)
MAX_POINTS: Final = 20_000
"""Sensor × measure × period rows one answer may hold, at most."""
MAX_BUCKETS: Final = 100_000
"""Stored buckets one answer reads, at least (more when the range holds more at ``sensors.bucket_s``)."""
MEASURES_PER_SENSOR: Final = 2
"""A radar has two measures (approaching, receding); the others one."""


class Period(StrEnum):
    BUCKET = "bucket"
    """The stored buckets as they are (``sensors.bucket_s``)."""
    HOUR = "hour"
    DAY = "day"
    """Europe/Paris days."""


@dataclass(frozen=True, slots=True)
class SensorRef:
    """A configured sensor: what the read path needs to know of it."""

    id: str
    commune: str
    kind: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class SensorPeriod:
    """One measure of one sensor over one period: ``count`` readings; ``mean`` and ``maximum`` over the buckets of
    at least the minimum count (None when none is, or the measure has no value: presence)."""

    sensor_id: str
    measure: str
    start: datetime
    end: datetime
    count: int
    mean: float | None
    maximum: float | None
    withheld_buckets: int
    """Buckets of the period below the minimum count: counted, their values not used."""


class StatisticsReader(Protocol):
    def between(
        self, sensor_ids: Sequence[str], start: datetime, end: datetime, *, limit: int
    ) -> builtins.list[SensorStatistic]: ...


@dataclass(slots=True)
class _Sum:
    count: int = 0
    valued_count: int = 0
    total: float = 0.0
    maximum: float | None = None
    withheld: int = 0


class SensorStatisticsService:
    """See the module docstring."""

    def __init__(
        self,
        sensors: Sequence[SensorRef],
        repo: StatisticsReader,
        audit: AuditSink,
        *,
        bucket_s: int,
        min_count: int,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        if min_count < 1 or bucket_s < 1:
            raise ValueError("bucket_s and min_count must be ≥ 1")
        self._sensors = {s.id: s for s in sensors}
        self._repo, self._audit = repo, audit
        self._bucket = timedelta(seconds=bucket_s)
        self.min_count = min_count
        self._max_buckets = max_buckets

    def sensors_for(self, viewer: Principal) -> list[SensorRef]:
        """The sensors of the viewer's commune (``read_alerts``)."""
        viewer.require(Permission.READ_ALERTS)
        return [s for s in self._sensors.values() if s.commune == viewer.user.commune_id]

    def periods_for(
        self, viewer: Principal, sensor_id: str | None, start: datetime, end: datetime, period: Period
    ) -> list[SensorPeriod]:
        """The totals per ``period`` of ``sensor_id`` (None: every sensor of the viewer's commune) over [start, end)
        (at most 31 days; periods cut by the range's ends are cut too), audited."""
        viewer.require(Permission.READ_ALERTS)
        sensors = self._visible(viewer, sensor_id)
        if not start < end or end - start > MAX_RANGE:
            raise InvalidQuery("a statistics range ends after it starts and spans at most 31 days")
        length = self._bucket if period is Period.BUCKET else timedelta(hours=1 if period is Period.HOUR else 24)
        points = len(sensors) * MEASURES_PER_SENSOR * math.ceil((end - start) / max(length, self._bucket))
        if points > MAX_POINTS:
            raise InvalidQuery(
                f"{len(sensors)} sensor(s) over this range by {period.value} make up to {points} rows (at most "
                f"{MAX_POINTS}): choose one sensor, a shorter range or a longer period"
            )
        # buckets written under a shorter `bucket_s` than today's are more than the range holds now: read up to
        # `max_buckets` whatever the expected number, and never cut silently (the totals would be wrong)
        limit = max(len(sensors) * MEASURES_PER_SENSOR * math.ceil((end - start) / self._bucket), self._max_buckets)
        buckets = self._repo.between([s.id for s in sensors], start, end, limit=limit + 1)
        if len(buckets) > limit:
            raise InvalidQuery(f"this range holds more than {limit} stored buckets: ask a shorter range or one sensor")
        found = self._aggregate(buckets, period, start, end)
        self._audit.append(
            AuditEvent(
                viewer.actor,
                AuditAction.SEARCH,
                f"sensor:{sensor_id}" if sensor_id else f"commune:{viewer.user.commune_id}",
                {
                    "resource": "sensor_statistics",
                    "sensors": [s.id for s in sensors],
                    "start": format_time(start),
                    "end": format_time(end),
                    "period": period.value,
                    "rows": len(found),
                },
            )
        )
        return found

    def _visible(self, viewer: Principal, sensor_id: str | None) -> list[SensorRef]:
        if sensor_id is None:
            return [s for s in self._sensors.values() if s.commune == viewer.user.commune_id]
        sensor = self._sensors.get(sensor_id)
        if sensor is None or sensor.commune != viewer.user.commune_id:
            if sensor is not None:
                self._audit.append(
                    AuditEvent(
                        viewer.actor,
                        AuditAction.ACCESS_DENIED,
                        f"sensor:{sensor_id}",
                        {"resource": "sensor_statistics", "reason": "sensor of another commune"},
                    )
                )
            raise NotVisibleError(f"no sensor {sensor_id!r} among your commune's sensors")
        return [sensor]

    def _aggregate(
        self, buckets: Sequence[SensorStatistic], period: Period, start: datetime, end: datetime
    ) -> list[SensorPeriod]:
        sums: dict[tuple[str, str, datetime, datetime], _Sum] = {}
        for bucket in buckets:
            first, last = self._period_of(bucket, period)
            key = (bucket.sensor_id, bucket.measure, max(first, start), min(last, end))
            acc = sums.setdefault(key, _Sum())
            acc.count += bucket.count
            if bucket.count < self.min_count:  # withheld as the writer withholds (L33)
                acc.withheld += 1
            elif bucket.total is not None:
                acc.valued_count += bucket.count
                acc.total += bucket.total
                top = bucket.maximum
                if top is not None:
                    acc.maximum = top if acc.maximum is None else max(acc.maximum, top)
        return [
            SensorPeriod(
                sensor,
                measure,
                first,
                last,
                acc.count,
                round(acc.total / acc.valued_count, 3) if acc.valued_count else None,
                acc.maximum if acc.valued_count else None,
                acc.withheld,
            )
            for (sensor, measure, first, last), acc in sorted(sums.items(), key=lambda kv: (kv[0][2], kv[0][:2]))
        ]

    def _period_of(self, bucket: SensorStatistic, period: Period) -> tuple[datetime, datetime]:
        if period is Period.BUCKET or bucket.end - bucket.start >= timedelta(hours=1 if period is Period.HOUR else 24):
            return bucket.start, bucket.end  # a period no longer than a bucket: the bucket itself
        if period is Period.HOUR:
            first = bucket.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            return first, first + timedelta(hours=1)
        local = bucket.start.astimezone(LOCAL_TIME)
        midnight = datetime(local.year, local.month, local.day, tzinfo=LOCAL_TIME)
        following = (midnight + timedelta(days=1, hours=3)).replace(hour=0)  # 23 or 25 hours across a DST change
        return midnight.astimezone(UTC), following.astimezone(UTC)
