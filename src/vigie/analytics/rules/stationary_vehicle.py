"""``stationary_vehicle`` (private sites only — the Conseil d'État refused it on Nice's streets, L24): a vehicle
stopped in a zone for longer than a threshold (e.g. more than 5 minutes in front of a school entrance).

Vehicles are remembered by place (``StillObjects``), so a car hidden for a few seconds by a passing bus keeps its
time; a car that moves by more than half its height starts again. One hit per stop."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from vigie.analytics.rules.base import (
    VEHICLE_CLASSES,
    ClassName,
    RuleConfig,
    RuleHit,
    RuleInput,
    normalised,
    of_classes,
)
from vigie.analytics.rules.still import StillObjects
from vigie.analytics.zones import Anchor, PolygonZone
from vigie.config.zones import Polygon


class StationaryVehicleConfig(RuleConfig):
    zones: tuple[Polygon, ...] = Field(
        default=(), title="Zones", description="Where stops count (polygons, normalised); empty: the whole image."
    )
    classes: frozenset[ClassName] = Field(
        default=VEHICLE_CLASSES, title="Classes", description="Vehicle classes watched."
    )
    min_duration_s: float = Field(
        default=300.0, ge=1.0, le=86400.0, title="Minimum stop", description="Seconds stopped before a hit."
    )
    max_drift: float = Field(
        default=0.5, gt=0.0, le=5.0, title="Drift", description="Movement, in box heights, that ends a stop."
    )
    forget_after_s: float = Field(
        default=20.0, gt=0.0, le=600.0, title="Memory", description="Seconds a hidden vehicle keeps its stop time."
    )


class StationaryVehicle:
    module: ClassVar[str] = "stationary_vehicle"
    needs_frame: ClassVar[bool] = False
    kind: ClassVar[str] = "stationary_vehicle"

    def __init__(self, config: StationaryVehicleConfig) -> None:
        self.config = config
        self._zones = [PolygonZone(z, anchor=Anchor.BOTTOM_CENTER) for z in config.zones]
        self._still = StillObjects(max_drift=config.max_drift, forget_after_s=config.forget_after_s)

    def update(self, data: RuleInput) -> list[RuleHit]:
        vehicles = of_classes(data.tracks, self.config.classes)
        if self._zones and len(vehicles):
            inside = np.zeros(len(vehicles), np.bool_)
            for zone in self._zones:
                inside |= zone.trigger(vehicles, data.frame_size)
            vehicles = vehicles[inside]
        hits = []
        for item in self._still.update(vehicles, data.at):
            if not item.fired and data.at - item.since >= self.config.min_duration_s:
                item.fired = True
                hits.append(RuleHit(self.kind, normalised(item.box, data.frame_size), round(item.score, 3)))
        return hits

    def reset(self) -> None:
        self._still.clear()
