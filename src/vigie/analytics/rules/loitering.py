"""``loitering`` (private sites only, not a décret 2023-828 event — L24): a person staying in a zone longer than
a threshold. Same mechanics as ``intrusion`` with a long duration: one hit per stay, re-armed on leaving."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from vigie.analytics.rules.base import PERSON_CLASSES, ClassName, RuleConfig
from vigie.analytics.rules.dwell import DwellRule
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


class Loitering(DwellRule):
    module: ClassVar[str] = "loitering"
    kind: ClassVar[str] = "loitering"

    def __init__(self, config: LoiteringConfig) -> None:
        super().__init__(config)
        self.config: LoiteringConfig = config
