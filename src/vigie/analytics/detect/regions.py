"""Motion regions as ``Detections``, so motion feeds the same tracker, zones and rules as object detectors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vigie.domain.detections import Detections, ObjectClass
from vigie.domain.geometry import Box


def motion_detections(regions: Sequence[tuple[Box, float]], frame_size: tuple[int, int]) -> Detections:
    """``MotionDetector.detect`` output (normalised boxes, fill ratios) → class ``MOTION`` boxes in pixels.

    The score is the region's fill ratio: how much of its box actually moved.
    """
    width, height = frame_size
    boxes = np.array(
        [(b.x * width, b.y * height, (b.x + b.w) * width, (b.y + b.h) * height) for b, _ in regions], np.float32
    ).reshape(-1, 4)
    scores = np.array([fill for _, fill in regions], np.float32)
    return Detections.create(boxes, scores, np.full(len(boxes), int(ObjectClass.MOTION), np.int32))
