"""Zones drawn on a camera image, in normalised coordinates (see :mod:`vigie.domain.geometry`).

Three kinds, told apart by ``kind``:

* ``analysis`` — a polygon where analysis modules look (intrusion, density, abandoned object...);
* ``privacy_mask`` — a polygon burnt into every frame before storage and analysis (L6: dwelling
  interiors and entrances); operators cannot lift it;
* ``directed_line`` — a segment with a crossing direction (line counting, wrong way).
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from vigie.config.fields import ConfigModel, Slug, invalid
from vigie.domain.geometry import Point

MIN_POLYGON_AREA = 1e-6
"""Polygons smaller than this fraction of the frame (under a pixel at 640x480) are treated as degenerate."""

Coordinate = Annotated[float, Field(ge=0.0, le=1.0)]
NormalisedPoint = tuple[Coordinate, Coordinate]
"""``[x, y]`` with 0 ≤ x, y ≤ 1: (0, 0) is the top-left corner of the image, (1, 1) the bottom-right."""


def polygon_area(points: tuple[Point, ...]) -> float:
    """Unsigned area of a simple polygon (shoelace formula), as a fraction of the frame."""
    total = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True):
        total += x0 * y1 - x1 * y0
    return abs(total) / 2.0


def _check_polygon(points: tuple[Point, ...]) -> tuple[Point, ...]:
    if polygon_area(points) < MIN_POLYGON_AREA:
        raise invalid(
            "polygon has no area: its points are (almost) on one line or repeated",
            "give at least 3 points that are not aligned, e.g. [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]",
        )
    return points


Polygon = Annotated[tuple[NormalisedPoint, ...], Field(min_length=3, max_length=64), AfterValidator(_check_polygon)]
"""A closed polygon of 3 to 64 normalised points with a non-zero area."""


class AnalysisZone(ConfigModel):
    """A polygon where analysis modules look; outside it they ignore what moves."""

    kind: Literal["analysis"] = Field(title="Kind", description="`analysis`: a region watched by analysis.")
    id: Slug = Field(title="Zone id", description="Identifier of the zone, unique within its camera.")
    description: str | None = Field(
        default=None, title="Description", description="What the zone covers, for operators and auditors."
    )
    points: Polygon = Field(
        title="Polygon",
        description="At least 3 points [x, y] in normalised coordinates (0..1, origin top-left), in order "
        "around the polygon; the polygon must have a non-zero area.",
    )


class PrivacyMaskZone(ConfigModel):
    """A polygon hidden before storage and analysis (L6): dwelling interiors and entrances."""

    kind: Literal["privacy_mask"] = Field(
        title="Kind", description="`privacy_mask`: a region burnt out of every frame before storage and analysis."
    )
    id: Slug = Field(title="Zone id", description="Identifier of the zone, unique within its camera.")
    description: str | None = Field(
        default=None,
        title="Description",
        description="What the mask hides (e.g. `windows of 12 rue des Lilas`), for the register and auditors.",
    )
    points: Polygon = Field(
        title="Polygon",
        description="At least 3 points [x, y] in normalised coordinates (0..1, origin top-left), in order "
        "around the masked region; the polygon must have a non-zero area.",
    )


class LineDirection(enum.StrEnum):
    """Which crossings of a directed line count.

    Stand on the first point of the line and look towards the second one, as drawn on the screen: the
    line has a left-hand side and a right-hand side. ``left_to_right`` counts objects going from your left to
    your right. For a line drawn from the left edge to the right edge of the image, left is the upper
    part of the image, so ``left_to_right`` means moving down the image.
    """

    LEFT_TO_RIGHT = "left_to_right"
    RIGHT_TO_LEFT = "right_to_left"
    BOTH = "both"


class DirectedLineZone(ConfigModel):
    """A segment with a direction: line counting, or "against the usual direction" detection."""

    kind: Literal["directed_line"] = Field(
        title="Kind", description="`directed_line`: a segment whose crossings are counted or watched."
    )
    id: Slug = Field(title="Zone id", description="Identifier of the zone, unique within its camera.")
    description: str | None = Field(
        default=None, title="Description", description="What the line watches (e.g. `metro exit, upstream`)."
    )
    points: tuple[NormalisedPoint, NormalisedPoint] = Field(
        title="Segment",
        description="Exactly 2 distinct points [x, y], start then end, in normalised coordinates (0..1).",
    )
    direction: LineDirection = Field(
        title="Direction",
        description="Crossings that count, seen from the start point looking to the end point: "
        "`left_to_right`, `right_to_left` or `both`. For a line drawn left to right across the image, "
        "`left_to_right` means moving down the image.",
    )

    @field_validator("points")
    @classmethod
    def _distinct(cls, points: tuple[Point, Point]) -> tuple[Point, Point]:
        (x0, y0), (x1, y1) = points
        if abs(x1 - x0) < 1e-6 and abs(y1 - y0) < 1e-6:
            raise invalid("the line's two points are the same", "give a start point and a different end point")
        return points

    def side(self, point: Point) -> int:
        """Which side of the line ``point`` is on: -1 left, +1 right, 0 on the line (see LineDirection)."""
        (x0, y0), (x1, y1) = self.points
        cross = (x1 - x0) * (point[1] - y0) - (y1 - y0) * (point[0] - x0)
        # Image y grows downwards, so a negative cross product is on the viewer's left.
        return (cross > 0) - (cross < 0)


Zone = Annotated[AnalysisZone | PrivacyMaskZone | DirectedLineZone, Field(discriminator="kind")]
"""One zone of a camera; ``kind`` says which."""

ZONE_KINDS: tuple[str, ...] = ("analysis", "privacy_mask", "directed_line")
