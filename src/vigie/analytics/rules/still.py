"""Objects that stay put, followed by track and, when the tracker loses them, found again by place.

A parked car or a left bag is easy to lose for a few seconds (a bus passes in front, the detector's score dips)
and the tracker then gives it a new id, which would restart any per-track clock. ``StillObjects`` keeps one entry
per object: a detection with the entry's track id refreshes it; a detection with a track id no entry has adopts
an entry that is *not seen in this frame* and sits at the same place (IoU ≥ ``match_iou`` and centre within
``max_drift`` box heights), keeping its clock; otherwise it opens a new entry. An entry whose object moved (its
centre drifted more than ``max_drift`` box heights from where it settled) starts again from zero, and one not seen
for ``forget_after_s`` is dropped. Moving traffic therefore never inherits a stopped object's time: each car is
its own entry, and its clock restarts at every step it moves. Used by ``abandoned_object`` and
``stationary_vehicle``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vigie.analytics.track.matching import box_iou
from vigie.domain.detections import Detections


@dataclass(slots=True)
class Still:
    box: np.ndarray
    """Latest box (pixels)."""
    anchor: np.ndarray
    """Centre (pixels) where the object settled."""
    since: float
    """When it settled there."""
    seen: float
    score: float
    fired: bool = False
    unattended_since: float | None = None
    """For left objects: since when nobody has been near it (None while someone is)."""
    track_id: int = -1


class StillObjects:
    def __init__(self, match_iou: float = 0.3, max_drift: float = 0.5, forget_after_s: float = 10.0) -> None:
        self.match_iou = match_iou
        self.max_drift = max_drift
        self.forget_after_s = forget_after_s
        self.max_entries = 512
        self._items: list[Still] = []

    @property
    def items(self) -> list[Still]:
        return self._items

    def update(self, detections: Detections, at: float) -> list[Still]:
        """Match this frame's tracked detections to the entries; return the entries seen in this frame."""
        self._items = [s for s in self._items if at - s.seen <= self.forget_after_s]
        if not len(detections):
            return []
        by_track = {item.track_id: item for item in self._items}
        boxes = detections.boxes.astype(np.float64)
        seen: list[Still] = []
        unknown: list[int] = []
        for j, track_id in enumerate(detections.track_ids.tolist()):
            item = by_track.get(track_id)
            if item is None:
                unknown.append(j)
                continue
            self._refresh(item, boxes[j], float(detections.scores[j]), at)
            seen.append(item)
        lost = [item for item in self._items if item.seen < at]
        for j in unknown:
            item = self._adopt(lost, boxes[j])
            if item is None:
                item = Still(boxes[j], _centre(boxes[j]), at, at, float(detections.scores[j]))
                self._items.append(item)
            else:
                lost.remove(item)
                self._refresh(item, boxes[j], float(detections.scores[j]), at)
            item.track_id = int(detections.track_ids[j])
            seen.append(item)
        if len(self._items) > self.max_entries:
            self._items.sort(key=lambda s: s.seen)
            del self._items[: len(self._items) - self.max_entries]
        return seen

    def _adopt(self, lost: list[Still], box: np.ndarray) -> Still | None:
        """The lost entry at the place of ``box``, if any (best overlap, close enough to where it settled)."""
        if not lost:
            return None
        iou = box_iou(box[None, :], np.stack([item.box for item in lost]))[0]
        k = int(iou.argmax())
        height = max(1.0, float(box[3] - box[1]))
        near = float(np.hypot(*(_centre(box) - lost[k].anchor))) <= self.max_drift * height
        return lost[k] if iou[k] >= self.match_iou and near else None

    def _refresh(self, item: Still, box: np.ndarray, score: float, at: float) -> None:
        height = max(1.0, float(box[3] - box[1]))
        if float(np.hypot(*(_centre(box) - item.anchor))) > self.max_drift * height:
            item.anchor, item.since, item.fired, item.unattended_since = _centre(box), at, False, None
        item.box, item.seen, item.score = box, at, max(0.9 * item.score + 0.1 * score, score * 0.5)

    def clear(self) -> None:
        self._items = []


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
