"""Geometry in normalised image coordinates: (0, 0) is the top-left corner, (1, 1) the bottom-right.

Normalised coordinates survive a change of stream resolution (main stream vs sub stream, a camera reconfigured).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in normalised coordinates."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return self.w * self.h

    def union(self, other: Box) -> Box:
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.w, other.x + other.w)
        y1 = max(self.y + self.h, other.y + other.h)
        return Box(x0, y0, x1 - x0, y1 - y0)


Point = tuple[float, float]
"""A point (x, y) in normalised coordinates."""
