"""What Vigie keeps of the sensors' readings (issue 21): time-bucketed totals, never a reading, and the record of
each link rule carried out (a bookmark on cameras' recordings, cameras shown on the wall, a dome sent to a preset).

A reading of a radar or a presence sensor names no one: the totals kept are statistics in the sense of the CNIL's
position on anonymous aggregates (docs/integrations.md, *Sensors*)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SensorStatistic:
    """One bucket of one measure of one sensor: how many readings, their sum and their largest value.

    Measures: ``vehicles.approaching``/``vehicles.receding`` (a radar: vehicles counted, sum and top of their
    speeds in km/h), ``presence`` (readings saying present; no sum), ``occupancy`` (readings, sum and top of the
    ratios: the mean is ``total / count``)."""

    sensor_id: str
    measure: str
    start: datetime
    end: datetime
    count: int
    total: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, slots=True)
class SensorLinkEvent:
    """A link rule carried out: ``action`` on ``cameras`` at ``at`` (Vigie's clock), for a reading of
    ``sensor_id`` observed at ``observed_at``; ``outcome`` is ``done`` or why not."""

    rule: str
    sensor_id: str
    action: str
    cameras: tuple[str, ...]
    label: str
    at: datetime
    observed_at: datetime
    outcome: str
    id: int | None = None


class SensorStatisticsRepo(Protocol):
    def add_many(self, buckets: Iterable[SensorStatistic]) -> int: ...

    def list(
        self, *, sensor_ids: Sequence[str] | None = None, since: datetime | None = None, limit: int = 1000
    ) -> builtins.list[SensorStatistic]: ...


class SensorLinkEventRepo(Protocol):
    def add(self, event: SensorLinkEvent) -> SensorLinkEvent: ...

    def list(
        self,
        *,
        camera_id: str | None = None,
        after_id: int = 0,
        action: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
    ) -> builtins.list[SensorLinkEvent]: ...

    def newest_id(self) -> int: ...
