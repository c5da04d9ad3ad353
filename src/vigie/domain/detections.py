"""One columnar type for what detectors find, shared by every stage (detect → track → zones → rules).

Arrays rather than per-object Python objects: a frame with 50 boxes is 5 small NumPy arrays, and filtering by a
boolean mask is one operation. Boxes are in pixels of the analysed frame, ``x1, y1, x2, y2``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]


class ObjectClass(enum.IntEnum):
    """Vigie's classes. Detectors map their own (e.g. COCO) classes onto these; anything else is dropped.

    There is deliberately no class describing a person beyond "person" (no age, gender, clothing…, L25).
    """

    PERSON = 0
    BICYCLE = 1
    CAR = 2
    MOTORCYCLE = 3
    BUS = 4
    TRUCK = 5
    BAG = 6
    """Backpack, handbag, suitcase: what can be left behind."""
    MOTION = 7
    """A region of motion, from the motion detector: no class is claimed."""
    HOT_SPOT = 8
    """A hot blob on a thermal camera."""


def _empty_float(shape: tuple[int, ...]) -> FloatArray:
    return np.zeros(shape, np.float32)


@dataclass(frozen=True, slots=True)
class Detections:
    """N detections of one frame. ``track_ids`` is -1 until a tracker assigns identities."""

    boxes: FloatArray = field(default_factory=lambda: _empty_float((0, 4)))
    scores: FloatArray = field(default_factory=lambda: _empty_float((0,)))
    class_ids: IntArray = field(default_factory=lambda: np.zeros((0,), np.int32))
    track_ids: IntArray = field(default_factory=lambda: np.zeros((0,), np.int32))
    masks: BoolArray | None = None
    """Optional N×H×W instance masks."""

    def __post_init__(self) -> None:
        n = len(self.boxes)
        if self.boxes.shape != (n, 4):
            raise ValueError(f"boxes must be N×4 (x1, y1, x2, y2), got shape {self.boxes.shape}")
        for name in ("scores", "class_ids", "track_ids"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have one value per box ({n}), got shape {getattr(self, name).shape}")
        if self.masks is not None and self.masks.shape[0] != n:
            raise ValueError(f"masks must have one mask per box ({n}), got {self.masks.shape[0]}")

    @classmethod
    def create(
        cls,
        boxes: npt.ArrayLike,
        scores: npt.ArrayLike,
        class_ids: npt.ArrayLike,
        track_ids: npt.ArrayLike | None = None,
    ) -> Detections:
        """Build from anything array-like, with the right dtypes (track ids default to -1)."""
        b = np.asarray(boxes, np.float32).reshape(-1, 4)
        t = np.full(len(b), -1, np.int32) if track_ids is None else np.asarray(track_ids, np.int32)
        return cls(b, np.asarray(scores, np.float32).reshape(-1), np.asarray(class_ids, np.int32).reshape(-1), t)

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, index: npt.NDArray[np.bool_] | npt.NDArray[np.int_] | slice) -> Detections:
        """A subset, e.g. ``dets[dets.class_ids == ObjectClass.PERSON]``."""
        masks = None if self.masks is None else self.masks[index]
        return Detections(self.boxes[index], self.scores[index], self.class_ids[index], self.track_ids[index], masks)

    def with_track_ids(self, track_ids: npt.ArrayLike) -> Detections:
        return Detections(self.boxes, self.scores, self.class_ids, np.asarray(track_ids, np.int32), self.masks)

    @property
    def centers(self) -> FloatArray:
        return np.stack([(self.boxes[:, 0] + self.boxes[:, 2]) / 2, (self.boxes[:, 1] + self.boxes[:, 3]) / 2], 1)

    @property
    def bottom_centers(self) -> FloatArray:
        """Where a person or vehicle touches the ground: what zones and lines test."""
        return np.stack([(self.boxes[:, 0] + self.boxes[:, 2]) / 2, self.boxes[:, 3]], 1)
