"""``abandoned_object`` (décret 2023-828): an object that appears, then stays still for ``min_duration_s`` while
nobody stays near it.

Objects come from two places (``method: scene``, the default). The **picture**: static foreground that appears and
stays, from a long- and a short-term background (:mod:`vigie.analytics.rules.left_objects`), kept only when a
tracked person brought it (back-tracing: whose box held its place when it appeared) and when no person's or
vehicle's box covers it — because real COCO detectors do not see a bag lying on the ground (issue 20). And the
**detector**: objects it classed as bags, as before. A bag both find is one object, raised once. ``method:
detector`` keeps the detector's bags alone (the module as it was). Without a picture (a caller that passes no
frame) the scene stage does not run.

What the 2025 evaluation of the Paris experiment found wrong (62 % false positives at SNCF: people sitting or
lying taken for parcels) is designed out here rather than tuned away:

- only objects a detector classed as a bag (backpack, handbag, suitcase) can be abandoned; a person — seated,
  lying, wrapped in a sleeping bag — is a person, and a parked bicycle is a bicycle, never a bag;
- the object is remembered by place, not by track id; lighting changes (clouds, street lights) neither create nor
  reset it: the detector's bags do not depend on them, and the scene stage divides the picture by its global gain,
  learns its backgrounds again when most of the picture changes at once, and keeps only what a person brought;
- an object is unattended only while no person's box, grown by ``owner_margin`` of its height, contains the
  object's centre — its owner sitting next to it keeps it attended, for as long as they stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from vigie.analytics.rules.base import PERSON_CLASSES, ClassName, RuleConfig, RuleHit, RuleInput, normalised, of_classes
from vigie.analytics.rules.left_objects import SELF_IOU, TRACE_S, Blob, People, PeopleHistory, StaticForeground
from vigie.analytics.rules.still import Still, StillObjects
from vigie.analytics.track.matching import box_iou
from vigie.analytics.zones import Anchor, PolygonZone
from vigie.config.zones import Polygon
from vigie.domain.detections import Detections, ObjectClass


class AbandonedObjectConfig(RuleConfig):
    method: Literal["scene", "detector"] = Field(
        default="scene",
        title="Method",
        description="scene: objects from the picture (static foreground a person brought) and the detector's bags; "
        "detector: the detector's bags only.",
    )
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
    stable_s: float = Field(
        default=2.0,
        ge=0.5,
        le=60.0,
        title="Still time (scene)",
        description="Seconds a new part of the picture must stay unchanged to be a candidate object.",
    )
    min_area: float = Field(
        default=0.0003,
        gt=0.0,
        le=0.1,
        title="Smallest object (scene)",
        description="Smallest candidate object, as a fraction of the picture's area.",
    )
    max_area: float = Field(
        default=0.05,
        gt=0.0,
        le=0.5,
        title="Largest object (scene)",
        description="Largest candidate object, as a fraction of the picture's area.",
    )

    @model_validator(mode="after")
    def _sizes(self) -> AbandonedObjectConfig:
        if self.min_area >= self.max_area:
            raise ValueError(
                f"min_area ({self.min_area}) must be smaller than max_area ({self.max_area}): they bound the size of "
                "an object found in the picture, as fractions of its area"
            )
        return self


@dataclass(slots=True, eq=False)
class _Left:
    """An object found in the picture, brought by ``owner`` (a track id; -1 while still looked for)."""

    box: np.ndarray
    onset: float
    owner: int
    seen: float
    unattended_since: float | None
    fired: bool = False
    blob: Blob | None = None
    """Its latest blob in the picture."""
    owner_box: np.ndarray = field(default_factory=lambda: np.zeros(4))
    """The owner's box when they were found (pixels)."""


class AbandonedObject:
    module: ClassVar[str] = "abandoned_object"
    needs_frame: ClassVar[bool] = False
    kind: ClassVar[str] = "abandoned_object"

    def __init__(self, config: AbandonedObjectConfig) -> None:
        self.config = config
        self._zones = [PolygonZone(z, anchor=Anchor.BOTTOM_CENTER) for z in config.zones]
        self._still = StillObjects(max_drift=config.max_drift, forget_after_s=config.forget_after_s)
        self._scene = StaticForeground(stable_s=config.stable_s, min_area=config.min_area, max_area=config.max_area)
        self._history = PeopleHistory()
        self._left: list[_Left] = []

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
                if not any(left.fired and _same_place(left.box, item.box) for left in self._left):
                    hits.append(RuleHit(self.kind, normalised(item.box, data.frame_size), round(item.score, 3)))
        if self.config.method == "scene" and data.frame is not None:
            hits += self._from_scene(data, people)
        return hits

    def _from_scene(self, data: RuleInput, people: Detections) -> list[RuleHit]:
        """Objects found in the picture: candidates, back-traced to who brought them, raised once unattended."""
        at, config = data.at, self.config
        assert data.frame is not None
        tracks = data.tracks[data.tracks.track_ids >= 0]
        covers = of_classes(tracks, frozenset(c for c in ObjectClass if c not in config.classes))
        self._history.add(People(at, people.boxes.astype(np.float64), people.track_ids.copy()))
        self._left = [left for left in self._left if at - left.seen <= config.forget_after_s]
        seen: list[_Left] = []
        for blob in self._scene.update(data.frame, at, covers.boxes.astype(np.float64)):
            if not self._in_zones(blob.box, data.frame_size):
                continue
            known = next((left for left in self._left if _same_place(left.box, blob.box)), None)
            if known is None:
                known = self._candidate(blob)
            if known is not None:
                known.box, known.seen, known.blob = blob.box, at, blob
                if known.owner < 0 and not self._find_owner(known, at):
                    continue
                if not _carried(known.box, known.owner_box):  # it grew: more than a person could carry
                    self._scene.forget(blob)
                    self._left.remove(known)
                    continue
                seen.append(known)
        hits = []
        for left in seen:
            if self._attended_at(left.box, people):
                left.unattended_since = None
                continue
            if left.unattended_since is None:
                left.unattended_since = at
            if not left.fired and at - left.unattended_since >= config.min_duration_s:
                left.fired = True
                if not any(item.fired and _same_place(item.box, left.box) for item in self._still.items):
                    hits.append(RuleHit(self.kind, normalised(left.box, data.frame_size), 1.0))
        return hits

    def _candidate(self, blob: Blob) -> _Left | None:
        """A new blob as a candidate object, or None (then forgotten: learnt into the background) when it is a
        ghost or the person themselves; its owner is looked for by :meth:`_find_owner`."""
        now, before = self._scene.edges_now_and_before(blob)
        owner = self._history.owner(blob.box, blob.onset, self.config.owner_margin)
        if now < before or (owner is not None and _iou(blob.box, owner[1]) >= SELF_IOU):
            self._scene.forget(blob)  # an object taken away, or a person the detector lost for a while
            return None
        if owner is not None and not _carried(blob.box, owner[1]):
            owner = None
        if len(self._left) >= 256:
            return None
        near = self._history.last_near(blob.box, blob.onset, self.config.owner_margin)
        owner_id, owner_box = (-1, np.zeros(4)) if owner is None else owner
        unattended = near if near is not None else blob.onset
        left = _Left(blob.box, blob.onset, owner_id, blob.onset, unattended, blob=blob, owner_box=owner_box)
        self._left.append(left)
        return left

    def _find_owner(self, left: _Left, at: float) -> bool:
        """Back-trace by movement a candidate nobody held when it appeared: whoever carried it away from its place,
        once the detector sees them (``TRACE_S`` at most). Nobody by then: not an object, forgotten."""
        assert left.blob is not None
        traced = self._scene.trace(left.blob, self._history)
        if traced is not None and _carried(left.box, traced[1]):
            left.owner, left.owner_box = traced
            return True
        if at > left.onset + TRACE_S:
            self._scene.forget(left.blob)  # nobody brought it: a lighting patch, a shadow, a parked car
            self._left.remove(left)
        return False

    def _in_zones(self, box: np.ndarray, frame_size: tuple[int, int]) -> bool:
        if not self._zones:
            return True
        one = Detections.create(box[None, :], [1.0], [int(ObjectClass.BAG)])
        return any(bool(zone.trigger(one, frame_size)[0]) for zone in self._zones)

    def _attended_at(self, box: np.ndarray, people: Detections) -> bool:
        centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        return self._attended(Still(box, centre, 0.0, 0.0, 0.0), people)

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
        self._scene.reset()
        self._history.clear()
        self._left = []


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(box_iou(a[None, :], b[None, :])[0, 0])


def _carried(thing: np.ndarray, person: np.ndarray) -> bool:
    """Whether a person of this box could have brought the thing: it is smaller than them (a parked car is not)."""
    area = float((thing[2] - thing[0]) * (thing[3] - thing[1]))
    return (
        area <= float((person[2] - person[0]) * (person[3] - person[1]))
        and thing[3] - thing[1] <= person[3] - person[1]
    )


def _same_place(a: np.ndarray, b: np.ndarray) -> bool:
    """Two boxes of one object: centres closer than the larger one's height (a detector's box and a blob's)."""
    height = max(1.0, float(a[3] - a[1]), float(b[3] - b[1]))
    return float(np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2)) <= height
