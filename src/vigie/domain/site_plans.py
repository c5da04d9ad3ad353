"""Site plans (issue 24): an image of a site (a floor plan, an aerial photograph) that a person uploads and places on
the map by the coordinates of its four corners. Pure: standard library only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

MAX_SITE_PLANS_PER_SITE = 20
PLAN_NAME_MAX = 100
PLAN_MEDIA_TYPES = ("image/png", "image/jpeg")
PLAN_MAX_SIDE = 8192
"""Widest or tallest plan accepted, in pixels: a decoded 8192 × 8192 RGBA image is 256 MiB in the browser."""

Corner = tuple[float, float]
"""``(longitude, latitude)`` in WGS84 degrees."""


class SitePlanError(ValueError):
    """A plan refused as given: the message says what is wrong and how to fix it."""


@dataclass(frozen=True, slots=True)
class SitePlan:
    """A plan placed on the map: ``corners`` are the image's top-left, top-right, bottom-right and bottom-left
    corners, in this order (what MapLibre's image source takes)."""

    id: int | None
    commune_id: str
    site_id: str
    name: str
    media_type: str
    width: int
    height: int
    size: int
    sha256: str
    corners: tuple[Corner, Corner, Corner, Corner]
    uploaded_by: str
    uploaded_at: datetime


def checked_corners(corners: object) -> tuple[Corner, Corner, Corner, Corner]:
    """Four ``[lon, lat]`` pairs within WGS84's ranges, not all at one point, or :class:`SitePlanError`."""
    if not isinstance(corners, list | tuple) or len(corners) != 4:
        raise SitePlanError(
            "corners must be 4 [longitude, latitude] pairs: top-left, top-right, bottom-right, bottom-left"
        )
    out: list[Corner] = []
    for i, pair in enumerate(corners):
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
        ):
            raise SitePlanError(f"corner {i + 1} is not a [longitude, latitude] pair of numbers")
        lon, lat = float(pair[0]), float(pair[1])
        if not (-180.0 <= lon <= 180.0 and -85.0 <= lat <= 85.0):
            raise SitePlanError(
                f"corner {i + 1} [{lon}, {lat}] is out of range: longitude -180..180 first, latitude -85..85 second"
            )
        out.append((lon, lat))
    if len(set(out)) < 3:
        raise SitePlanError("the corners are (almost) one point: place the plan's four corners where they lie")
    return out[0], out[1], out[2], out[3]


class SitePlans(Protocol):
    """Where plans and their images are kept."""

    def add(self, plan: SitePlan, image: bytes) -> SitePlan: ...

    def list(self, commune_ids: frozenset[str]) -> list[SitePlan]: ...

    def get(self, plan_id: int) -> SitePlan | None: ...

    def image(self, plan_id: int) -> bytes | None: ...

    def count(self, commune_id: str, site_id: str) -> int: ...

    def delete(self, plan_id: int) -> bool: ...
