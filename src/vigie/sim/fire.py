"""A fire starting, drawn: a flame whose outline changes every frame and whose area grows, as the ``fire_start``
event module is meant to see one (a bin or a scooter catching fire on a pavement).

The flame is three nested tongues (red, orange, yellow), widest low down and pointed on top, every side point and
the tip jittered anew at each frame; its area grows ``growth`` times over ``grow_s`` seconds (exponentially, as a
fire spreads), then holds until the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

RED, ORANGE, YELLOW = (25, 55, 215), (20, 135, 250), (130, 225, 255)
"""BGR colours of the flame's layers (outside to core)."""


def flame_outline(
    rng: np.random.Generator, base: tuple[float, float], width: float, height: float
) -> npt.NDArray[np.int32]:
    """A flame's outline in pixels: a tongue standing on ``base`` (bottom centre), every point jittered anew."""
    bx, by = base
    levels = np.linspace(0.0, 1.0, 9)[:-1]
    profile = (1.0 - levels) ** 0.8 * (0.65 + 0.35 * np.minimum(1.0, levels * 4.0))
    ys = by - levels * height + rng.normal(0.0, 0.03 * height, len(levels))
    left = bx - profile * width / 2 * rng.uniform(0.65, 1.35, len(levels))
    right = bx + profile * width / 2 * rng.uniform(0.65, 1.35, len(levels))
    tip = (bx + rng.uniform(-0.25, 0.25) * width, by - height * rng.uniform(0.8, 1.2))
    points = [*zip(left, ys, strict=True), tip, *zip(right[::-1], ys[::-1], strict=True)]
    return np.round(np.array(points)).astype(np.int32)


@dataclass(frozen=True, slots=True)
class Fire:
    """A flame standing on ``base`` (normalised bottom centre), ``size`` (normalised width, height) when it appears
    at ``start_s``; its area grows ``growth`` times over ``grow_s``, then holds until ``end_s``."""

    base: tuple[float, float]
    size: tuple[float, float]
    start_s: float
    end_s: float
    growth: float = 3.0
    grow_s: float = 8.0

    def scale(self, t: float) -> float:
        """Linear scale of the flame at ``t`` (1 when it appears, √growth once grown)."""
        return math.sqrt(self.growth ** (min(max(t - self.start_s, 0.0), self.grow_s) / self.grow_s))

    def extent(self) -> tuple[float, float, float, float]:
        """The normalised box (x, y, w, h) the grown flame may cover, jitter included."""
        s = self.scale(self.end_s)
        w, h = self.size[0] * s * 1.35, self.size[1] * s * 1.2
        return max(0.0, self.base[0] - w / 2), max(0.0, self.base[1] - h), w, h

    def paint(self, canvas: npt.NDArray[np.int16], t: float, rng: np.random.Generator) -> bool:
        """Draw the flame on a BGR canvas (int16, as the renderer composes) at ``t``; False when not burning."""
        if not self.start_s <= t < self.end_s:
            return False
        height_px, width_px = canvas.shape[:2]
        s = self.scale(t)
        w, h = self.size[0] * s * width_px, self.size[1] * s * height_px
        bx, by = self.base[0] * width_px, self.base[1] * height_px
        layer = np.zeros((height_px, width_px, 3), np.uint8)
        mask = np.zeros((height_px, width_px), np.uint8)
        for colour, base_lift, shrink_w, shrink_h in (
            (RED, 0.0, 1.0, 1.0),
            (ORANGE, 0.04, 0.7, 0.75),
            (YELLOW, 0.08, 0.4, 0.45),
        ):
            outline = flame_outline(rng, (bx, by - base_lift * h), shrink_w * w, shrink_h * h)
            cv2.fillPoly(layer, [outline], colour)
            cv2.fillPoly(mask, [outline], 1)
        canvas[mask > 0] = layer[mask > 0]
        return True
