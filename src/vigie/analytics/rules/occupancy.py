"""``occupancy`` (statistics, CNIL anonymous-statistics framework, L33): mean number of people (or vehicles) in a
zone per time bucket, withheld when the bucket's busiest moment had fewer than ``min_count``."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from vigie.analytics.rules.base import PERSON_CLASSES, ClassName, RuleConfig, RuleHit, RuleInput, of_classes
from vigie.analytics.rules.statistics import Bucket, Buckets
from vigie.analytics.zones import Anchor, PolygonZone
from vigie.config.zones import Polygon


class OccupancyConfig(RuleConfig):
    zones: tuple[Polygon, ...] = Field(min_length=1, title="Zones", description="Polygons counted together.")
    classes: frozenset[ClassName] = Field(default=PERSON_CLASSES, title="Classes", description="Objects counted.")
    bucket_s: float = Field(default=900.0, ge=60.0, le=86400.0, title="Bucket", description="Seconds per value.")
    min_count: int = Field(
        default=5, ge=1, le=1000, title="Minimum count", description="Buckets whose peak is below are withheld."
    )


class Occupancy:
    module: ClassVar[str] = "occupancy"
    needs_frame: ClassVar[bool] = False
    kind: ClassVar[str] = "occupancy"

    def __init__(self, config: OccupancyConfig) -> None:
        self.config = config
        self._zones = [PolygonZone(z, anchor=Anchor.BOTTOM_CENTER) for z in config.zones]
        self._buckets = Buckets(self.module, self.kind, config.bucket_s, config.min_count, mean=True)
        self.closed: list[Bucket] = []

    def update(self, data: RuleInput) -> list[RuleHit]:
        objects = of_classes(data.tracks, self.config.classes)
        inside = np.zeros(len(objects), np.bool_)
        for zone in self._zones:
            if len(objects):
                inside |= zone.trigger(objects, data.frame_size)
        self.closed = self._buckets.add(data.at, float(inside.sum()))
        return []

    def reset(self) -> None:
        self._buckets.reset()
        self.closed = []
