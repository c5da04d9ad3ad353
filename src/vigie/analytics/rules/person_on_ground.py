"""``person_on_ground`` (décret 2023-828): a person who goes from upright to lying and stays down.

From boxes alone: an upright person's box is taller than wide, a lying person's is wider than tall. A hit needs
the *transition* — the person was seen upright (``upright_s`` seconds), then lying for ``min_duration_s`` — so
somebody already lying when first seen (a rough sleeper, someone on a bench) raises nothing, and neither does
anyone in an ``exclusion_zones`` polygon (benches, lawns: configured by the integrator).

A fall changes the box so much that a tracker often gives the fallen person a new id; so a lying person also
inherits the upright history of a person lost in the last ``handover_s`` seconds at the same place (their
upright box, grown by half its height, contains the lying box's bottom centre).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import Field

from vigie.analytics.rules.base import (
    PERSON_CLASSES,
    BoundedMemory,
    RuleConfig,
    RuleHit,
    RuleInput,
    normalised,
    of_classes,
)
from vigie.analytics.zones import Anchor, PolygonZone
from vigie.config.zones import Polygon


class PersonOnGroundConfig(RuleConfig):
    min_duration_s: float = Field(
        default=10.0, ge=0.0, le=600.0, title="Time down", description="Seconds lying before a hit."
    )
    upright_s: float = Field(
        default=1.0, ge=0.0, le=60.0, title="Upright before", description="Seconds seen upright before the fall."
    )
    lying_ratio: float = Field(
        default=1.2, gt=0.5, le=5.0, title="Lying ratio", description="Width/height above which a person is lying."
    )
    upright_ratio: float = Field(
        default=0.8, gt=0.1, le=2.0, title="Upright ratio", description="Width/height below which a person is upright."
    )
    exclusion_zones: tuple[Polygon, ...] = Field(
        default=(), title="Exclusion zones", description="Benches, lawns…: nobody lying there raises anything."
    )
    handover_s: float = Field(
        default=3.0,
        ge=0.0,
        le=30.0,
        title="Handover",
        description="Seconds a lost upright person can be found again lying at the same place.",
    )


@dataclass(slots=True)
class _Person:
    upright_since: float | None = None
    upright_for: float = 0.0
    was_upright: bool = False
    down_since: float | None = None
    fired: bool = False
    last_box: np.ndarray | None = None
    last_seen: float = 0.0


class PersonOnGround:
    module: ClassVar[str] = "person_on_ground"
    needs_frame: ClassVar[bool] = False
    kind: ClassVar[str] = "person_on_ground"

    def __init__(self, config: PersonOnGroundConfig) -> None:
        self.config = config
        self._excluded = [PolygonZone(z, anchor=Anchor.BOTTOM_CENTER) for z in config.exclusion_zones]
        self._people: BoundedMemory[_Person] = BoundedMemory(forget_after_s=max(10.0, config.handover_s))

    def update(self, data: RuleInput) -> list[RuleHit]:
        cfg = self.config
        people = of_classes(data.tracks, PERSON_CLASSES)
        if self._excluded and len(people):
            excluded = np.zeros(len(people), np.bool_)
            for zone in self._excluded:
                excluded |= zone.trigger(people, data.frame_size)
            people = people[~excluded]
        present = set(people.track_ids.tolist())
        lost = [(key, s) for key, s in self._people.items() if key not in present and s.was_upright and not s.fired]
        self._people.expire(data.at)
        boxes = people.boxes
        ratio = (boxes[:, 2] - boxes[:, 0]) / np.maximum(boxes[:, 3] - boxes[:, 1], 1e-3)
        hits = []
        for i, track_id in enumerate(people.track_ids.tolist()):
            state = self._people.get(track_id)
            if state is None:
                state = _Person()
                if ratio[i] >= cfg.lying_ratio:
                    fallen = self._handover(boxes[i], lost, data.at)
                    if fallen is not None:  # the same person, given a new id by the tracker as they fell
                        state.was_upright, state.down_since = True, fallen.down_since
            if ratio[i] <= cfg.upright_ratio:
                state.down_since = None
                state.upright_since = data.at if state.upright_since is None else state.upright_since
                state.was_upright |= data.at - state.upright_since >= cfg.upright_s
                state.fired = False
            elif ratio[i] >= cfg.lying_ratio:
                state.upright_since = None
                if state.down_since is None:
                    state.down_since = data.at
                if state.was_upright and not state.fired and data.at - state.down_since >= cfg.min_duration_s:
                    state.fired = True
                    hits.append(RuleHit(self.kind, normalised(boxes[i], data.frame_size), float(people.scores[i])))
            state.last_box, state.last_seen = boxes[i], data.at
            self._people.put(track_id, state, data.at)
        return hits

    def _handover(self, lying: np.ndarray, lost: list[tuple[object, _Person]], at: float) -> _Person | None:
        """The upright person lost in the last ``handover_s`` seconds where ``lying`` lies, taken out of memory."""
        foot_x, foot_y = (lying[0] + lying[2]) / 2, lying[3]
        for key, person in lost:
            box = person.last_box
            if box is None or at - person.last_seen > self.config.handover_s:
                continue
            grow = 0.5 * (box[3] - box[1])
            if box[0] - grow <= foot_x <= box[2] + grow and box[1] - grow <= foot_y <= box[3] + grow:
                self._people.pop(key)  # handed over: never taken twice
                lost.remove((key, person))
                return person
        return None

    def reset(self) -> None:
        self._people.clear()
