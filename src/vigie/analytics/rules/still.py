"""Objects that stay put, remembered by *where* they are rather than by track id.

A parked car or a left bag is easy to lose for a few frames (a bus passes in front, the detector's score dips)
and a tracker then gives it a new id, which would restart any per-track clock. ``StillObjects`` keeps one entry
per place: a detection of the watched classes whose box overlaps an entry (IoU ≥ ``match_iou``) refreshes it; an
entry whose object moved (its centre drifted more than ``max_drift`` box heights from where it settled) starts
again from zero; an entry not seen for ``forget_after_s`` is dropped. Used by ``abandoned_object`` and
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
        """Match this frame's detections to the remembered places; return the entries seen in this frame."""
        self._items = [s for s in self._items if at - s.seen <= self.forget_after_s]
        seen: list[Still] = []
        if not len(detections):
            return seen
        boxes = detections.boxes.astype(np.float64)
        used = np.zeros(len(detections), np.bool_)
        if self._items:
            iou = box_iou(np.stack([s.box for s in self._items]), boxes)
            for k in np.argsort(-iou.max(axis=1)).tolist():
                j = int(iou[k].argmax())
                if iou[k, j] < self.match_iou or used[j]:
                    continue
                used[j] = True
                self._refresh(self._items[k], boxes[j], float(detections.scores[j]), at)
                seen.append(self._items[k])
        for new in np.flatnonzero(~used).tolist():
            item = Still(boxes[new], _centre(boxes[new]), at, at, float(detections.scores[new]))
            self._items.append(item)
            seen.append(item)
        if len(self._items) > self.max_entries:
            self._items.sort(key=lambda s: s.seen)
            del self._items[: len(self._items) - self.max_entries]
        return seen

    def _refresh(self, item: Still, box: np.ndarray, score: float, at: float) -> None:
        height = max(1.0, float(box[3] - box[1]))
        if float(np.hypot(*(_centre(box) - item.anchor))) > self.max_drift * height:
            item.anchor, item.since, item.fired, item.unattended_since = _centre(box), at, False, None
        item.box, item.seen, item.score = box, at, max(0.9 * item.score + 0.1 * score, score * 0.5)

    def clear(self) -> None:
        self._items = []


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
