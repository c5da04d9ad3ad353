"""``intrusion`` (décret 2023-828): a person or vehicle entering, or being in, a forbidden or sensitive zone.

An object counts as in the zone when its anchor (the bottom centre: where it touches the ground) is inside the
polygon; it raises one hit when it has been there ``min_duration_s`` seconds in a row (a pedestrian clipping the
corner of a zone for one frame is not an intrusion), and re-arms when it leaves. Missed detections for less than
``grace_s`` do not restart the clock.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from vigie.analytics.rules.base import PERSON_CLASSES, ClassName, RuleConfig
from vigie.analytics.rules.dwell import DwellRule
from vigie.config.zones import Polygon


class IntrusionConfig(RuleConfig):
    zones: tuple[Polygon, ...] = Field(
        min_length=1, title="Forbidden zones", description="Polygons (normalised) nobody of `classes` may enter."
    )
    classes: frozenset[ClassName] = Field(
        default=PERSON_CLASSES, title="Classes", description="Which objects count (default: persons)."
    )
    min_duration_s: float = Field(
        default=1.0, ge=0.0, le=3600.0, title="Minimum duration", description="Seconds inside before a hit."
    )
    grace_s: float = Field(
        default=2.0, ge=0.0, le=60.0, title="Grace", description="Seconds an unseen object keeps its time inside."
    )


class Intrusion(DwellRule):
    module: ClassVar[str] = "intrusion"
    kind: ClassVar[str] = "intrusion"

    def __init__(self, config: IntrusionConfig) -> None:
        super().__init__(config)
        self.config: IntrusionConfig = config
