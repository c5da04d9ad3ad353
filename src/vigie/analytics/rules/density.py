"""``density`` (décret 2023-828): too many people in a zone for too long.

The simple ground-plane calibration is the zone's real surface: the integrator draws the polygon on the image and
measures its ground area on site (``area_m2``); density is then persons whose feet are in the polygon per m².
Without a measured area a zone is judged on a head count (``max_count``). The threshold must hold for
``min_duration_s``; the module re-arms when the density has stayed below ``rearm_fraction`` of the threshold for
``rearm_s`` seconds, so a crowd that lingers is one alert, not one per minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import Field, model_validator

from vigie.analytics.rules.base import PERSON_CLASSES, RuleConfig, RuleHit, RuleInput, of_classes
from vigie.analytics.zones import Anchor, PolygonZone
from vigie.config.zones import Polygon
from vigie.domain.geometry import Box


class DensityZone(RuleConfig):
    points: Polygon = Field(title="Polygon", description="The zone on the image (normalised points).")
    area_m2: float | None = Field(
        default=None, gt=0.0, le=1e6, title="Ground area (m²)", description="Surface of the zone measured on site."
    )
    max_count: int | None = Field(
        default=None, ge=1, le=100000, title="Maximum people", description="Head-count threshold when no area."
    )

    @model_validator(mode="after")
    def _threshold(self) -> DensityZone:
        if self.area_m2 is None and self.max_count is None:
            raise ValueError("a density zone needs its ground area (area_m2) or a head-count threshold (max_count)")
        return self


class DensityConfig(RuleConfig):
    zones: tuple[DensityZone, ...] = Field(min_length=1, title="Zones", description="Watched zones.")
    max_per_m2: float = Field(
        default=2.0, gt=0.0, le=10.0, title="Density threshold", description="Persons per m² (zones with an area)."
    )
    min_duration_s: float = Field(
        default=10.0, ge=0.0, le=3600.0, title="Duration", description="Seconds above the threshold before a hit."
    )
    rearm_fraction: float = Field(
        default=0.8,
        gt=0.0,
        le=1.0,
        title="Re-arm below",
        description="Fraction of the threshold the density must fall under to end the incident.",
    )
    rearm_s: float = Field(default=30.0, ge=0.0, le=3600.0, title="Re-arm after", description="Seconds below it.")


@dataclass(slots=True)
class _ZoneState:
    above_since: float | None = None
    below_since: float | None = None
    fired: bool = False


class Density:
    module: ClassVar[str] = "density"
    needs_frame: ClassVar[bool] = False
    kind: ClassVar[str] = "density"

    def __init__(self, config: DensityConfig) -> None:
        self.config = config
        self._zones = [PolygonZone(z.points, anchor=Anchor.BOTTOM_CENTER) for z in config.zones]
        self._states = [_ZoneState() for _ in config.zones]

    def level(self, zone_index: int, count: int) -> float:
        """The zone's load as a fraction of its threshold (1.0 = at the threshold)."""
        zone = self.config.zones[zone_index]
        if zone.area_m2 is not None:
            return count / zone.area_m2 / self.config.max_per_m2
        assert zone.max_count is not None  # checked by the config
        return count / zone.max_count

    def update(self, data: RuleInput) -> list[RuleHit]:
        cfg = self.config
        people = of_classes(data.tracks, PERSON_CLASSES)
        hits = []
        for k, (zone, state) in enumerate(zip(self._zones, self._states, strict=True)):
            count = int(zone.trigger(people, data.frame_size).sum()) if len(people) else 0
            level = self.level(k, count)
            if level >= 1.0:
                state.below_since = None
                state.above_since = data.at if state.above_since is None else state.above_since
                if not state.fired and data.at - state.above_since >= cfg.min_duration_s:
                    state.fired = True
                    hits.append(RuleHit(self.kind, _bounds(zone.polygon), round(min(1.0, 0.5 * level), 3)))
                continue
            state.above_since = None
            if level < cfg.rearm_fraction:
                state.below_since = data.at if state.below_since is None else state.below_since
                if data.at - state.below_since >= cfg.rearm_s:
                    state.fired = False
        return hits

    def reset(self) -> None:
        self._states = [_ZoneState() for _ in self.config.zones]


def _bounds(polygon: tuple[tuple[float, float], ...]) -> Box:
    xs, ys = np.array([p[0] for p in polygon]), np.array([p[1] for p in polygon])
    return Box(float(xs.min()), float(ys.min()), float(xs.max() - xs.min()), float(ys.max() - ys.min()))
