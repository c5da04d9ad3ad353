"""``loitering`` (private sites only, not a décret 2023-828 event — L24): a person staying in a zone longer than
a threshold. Same mechanics as ``intrusion`` with a long duration: one hit per stay, re-armed on leaving."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from vigie.analytics.rules.base import PERSON_CLASSES, ClassName, RuleConfig, RuleHit, RuleInput, of_classes
from vigie.analytics.rules.dwell import ZoneDwell
from vigie.config.zones import Polygon


class LoiteringConfig(RuleConfig):
    zones: tuple[Polygon, ...] = Field(min_length=1, title="Zones", description="Polygons (normalised) watched.")
    classes: frozenset[ClassName] = Field(
        default=PERSON_CLASSES, title="Classes", description="Which objects count (default: persons)."
    )
    min_duration_s: float = Field(
        default=120.0, ge=1.0, le=86400.0, title="Minimum stay", description="Seconds in a zone before a hit."
    )
    grace_s: float = Field(
        default=5.0, ge=0.0, le=120.0, title="Grace", description="Seconds an unseen person keeps their time."
    )


class Loitering:
    module: ClassVar[str] = "loitering"
    needs_frame: ClassVar[bool] = False
    kind: ClassVar[str] = "loitering"

    def __init__(self, config: LoiteringConfig) -> None:
        self.config = config
        self._dwell = ZoneDwell(config.zones, config.grace_s)

    def update(self, data: RuleInput) -> list[RuleHit]:
        tracks = of_classes(data.tracks, self.config.classes)
        return [
            RuleHit(self.kind, region, score)
            for region, score in self._dwell.update(tracks, data.frame_size, data.at, self.config.min_duration_s)
        ]

    def reset(self) -> None:
        self._dwell.reset()
