"""``abandoned_object`` (décret 2023-828): an object that appears, then stays still for ``min_duration_s`` while
nobody stays near it.

What the 2025 evaluation of the Paris experiment found wrong (62 % false positives at SNCF: people sitting or
lying taken for parcels) is designed out here rather than tuned away:

- only objects a detector classed as a bag (backpack, handbag, suitcase) can be abandoned; a person — seated,
  lying, wrapped in a sleeping bag — is a person, and a parked bicycle is a bicycle, never a bag;
- the object is remembered by place, not by track id, and judged on detections rather than on background
  subtraction, so lighting changes (clouds, street lights) neither create nor reset it;
- an object is unattended only while no person's box, grown by ``owner_margin`` of its height, contains the
  object's centre — its owner sitting next to it keeps it attended, for as long as they stay.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from vigie.analytics.rules.base import PERSON_CLASSES, ClassName, RuleConfig, RuleHit, RuleInput, normalised, of_classes
from vigie.analytics.rules.still import Still, StillObjects
from vigie.analytics.zones import Anchor, PolygonZone
from vigie.config.zones import Polygon
from vigie.domain.detections import Detections, ObjectClass


class AbandonedObjectConfig(RuleConfig):
    zones: tuple[Polygon, ...] = Field(
        default=(), title="Zones", description="Where objects are watched (normalised polygons); empty: everywhere."
    )
    classes: frozenset[ClassName] = Field(
        default=frozenset({ObjectClass.BAG}), title="Classes", description="Objects that can be left (bags)."
    )
    min_duration_s: float = Field(
        default=60.0, ge=1.0, le=3600.0, title="Unattended time", description="Seconds still and unattended."
    )
    owner_margin: float = Field(
        default=0.5,
        ge=0.0,
        le=5.0,
        title="Owner distance",
        description="A person attends an object when their box, grown by this many times its height, contains it.",
    )
    max_drift: float = Field(
        default=0.5, gt=0.0, le=5.0, title="Drift", description="Movement, in object heights, that restarts the clock."
    )
    forget_after_s: float = Field(
        default=15.0, gt=0.0, le=600.0, title="Memory", description="Seconds a hidden object is remembered."
    )


class AbandonedObject:
    module: ClassVar[str] = "abandoned_object"
    needs_frame: ClassVar[bool] = False
    kind: ClassVar[str] = "abandoned_object"

    def __init__(self, config: AbandonedObjectConfig) -> None:
        self.config = config
        self._zones = [PolygonZone(z, anchor=Anchor.BOTTOM_CENTER) for z in config.zones]
        self._still = StillObjects(max_drift=config.max_drift, forget_after_s=config.forget_after_s)

    def update(self, data: RuleInput) -> list[RuleHit]:
        objects = of_classes(data.tracks, self.config.classes)
        if self._zones and len(objects):
            inside = np.zeros(len(objects), np.bool_)
            for zone in self._zones:
                inside |= zone.trigger(objects, data.frame_size)
            objects = objects[inside]
        people = of_classes(data.tracks, PERSON_CLASSES)
        hits = []
        for item in self._still.update(objects, data.at):
            if self._attended(item, people):
                item.unattended_since = None
                continue
            if item.unattended_since is None:
                item.unattended_since = max(item.since, data.at)
            still_for = data.at - max(item.since, item.unattended_since)
            if not item.fired and still_for >= self.config.min_duration_s:
                item.fired = True
                hits.append(RuleHit(self.kind, normalised(item.box, data.frame_size), round(item.score, 3)))
        return hits

    def _attended(self, item: Still, people: Detections) -> bool:
        if not len(people):
            return False
        boxes = people.boxes
        grow = self.config.owner_margin * (boxes[:, 3] - boxes[:, 1])
        cx, cy = item.anchor
        near = (
            (boxes[:, 0] - grow <= cx)
            & (cx <= boxes[:, 2] + grow)
            & (boxes[:, 1] - grow <= cy)
            & (cy <= boxes[:, 3] + grow)
        )
        return bool(near.any())

    def reset(self) -> None:
        self._still.clear()
