"""The console's layouts (issue 24): a grid of tiles, each showing one camera or cycling through a few (a tour), one
tile perhaps designated as the alarm tile; saved per person and shareable with roles of their commune. And the
video-wall outputs: what a named wall of a commune shows now, set from the console, read by the wall's browser.

Pure rules here (shapes, bounds); who may read or change what is the service's (:mod:`vigie.services.layouts`)."""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

__all__ = [
    "GRIDS",
    "MAX_LAYOUTS_PER_PERSON",
    "MAX_TOUR",
    "MAX_WALL_OUTPUTS",
    "Layout",
    "LayoutConflictError",
    "LayoutError",
    "Layouts",
    "Tile",
    "WallOutput",
    "WallOutputs",
]

GRIDS: dict[str, int] = {
    "1": 1,
    "4": 4,
    "9": 9,
    "16": 16,
    "25": 25,
    "1+5": 6,  # one large tile (2×2 of a 3×3 grid) and five small ones
    "1+7": 8,  # one large tile (3×3 of a 4×4 grid) and seven small ones
    "2+8": 10,  # two large tiles (2×2 each of a 4×4 grid) and eight small ones
    "1+12": 13,  # one large tile (2×2 in the middle of a 4×4 grid) and twelve around it
}
"""The grids a layout may use and how many tiles each has (the console draws them: layouts.css)."""
MAX_TOUR = 32
"""The most cameras one tile's tour cycles through."""
MIN_PACE_S, MAX_PACE_S = 2, 3600
MAX_LAYOUTS_PER_PERSON = 50
MAX_WALL_OUTPUTS = 16
"""The most wall outputs one commune names."""
NAME_MAX = 80
OUTPUT_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class LayoutError(ValueError):
    """A layout or wall output refused as given (422): the message says what and how to fix it."""


class LayoutConflictError(ValueError):
    """A layout refused for what is stored already (409): too many layouts."""


@dataclass(frozen=True)
class Tile:
    """One tile: a camera (None: empty), or a tour of cameras shown in turn every ``pace_s`` seconds."""

    camera: str | None = None
    tour: tuple[str, ...] = ()
    pace_s: int = 10

    def __post_init__(self) -> None:
        if self.tour and len(self.tour) < 2:
            raise LayoutError("a tour cycles through at least two cameras: give two or more, or none")
        if len(self.tour) > MAX_TOUR:
            raise LayoutError(f"a tour cycles through at most {MAX_TOUR} cameras")
        if not MIN_PACE_S <= self.pace_s <= MAX_PACE_S:
            raise LayoutError(f"a tour's pace is {MIN_PACE_S} to {MAX_PACE_S} seconds, not {self.pace_s}")

    def cameras(self) -> builtins.list[str]:
        return [c for c in (self.camera, *self.tour) if c is not None]

    def seen_by(self, check: Callable[[str], bool]) -> Tile:
        """This tile with only the cameras ``check(camera)`` allows (a tour left with one camera shows it)."""
        tour = tuple(c for c in self.tour if check(c))
        camera = self.camera if self.camera is not None and check(self.camera) else None
        if len(tour) < 2:
            camera = camera or (tour[0] if tour else None)
            tour = ()
        return replace(self, camera=camera, tour=tour)


@dataclass(frozen=True)
class Layout:
    """A saved layout. ``alarm_tile``: the index of the tile where an alarm's camera is shown, or None."""

    commune_id: str
    owner: str
    name: str
    grid: str
    tiles: tuple[Tile, ...]
    alarm_tile: int | None = None
    shared_roles: frozenset[str] = field(default_factory=frozenset)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str = ""
    id: int | None = None

    def __post_init__(self) -> None:
        name = self.name.strip()
        if not name or len(name) > NAME_MAX:
            raise LayoutError(f"a layout's name is 1 to {NAME_MAX} characters")
        if self.grid not in GRIDS:
            raise LayoutError(f"unknown grid {self.grid!r}: choose one of {', '.join(GRIDS)}")
        if len(self.tiles) != GRIDS[self.grid]:
            raise LayoutError(f"grid {self.grid} has {GRIDS[self.grid]} tiles, not {len(self.tiles)}")
        if self.alarm_tile is not None and not 0 <= self.alarm_tile < len(self.tiles):
            raise LayoutError(f"the alarm tile is a tile of the grid: 0 to {len(self.tiles) - 1}")

    def cameras(self) -> builtins.list[str]:
        return sorted({c for tile in self.tiles for c in tile.cameras()})

    @property
    def shared(self) -> bool:
        return bool(self.shared_roles)


@dataclass(frozen=True)
class WallOutput:
    """What the commune's wall output ``name`` shows now; ``version`` grows with each change."""

    commune_id: str
    name: str
    grid: str
    tiles: tuple[Tile, ...]
    version: int = 0
    updated_by: str = ""
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if not OUTPUT_NAME.match(self.name):
            raise LayoutError(
                f"a wall output's name is lower-case letters, digits and dashes (up to 64), not {self.name!r}"
            )
        if self.grid not in GRIDS:
            raise LayoutError(f"unknown grid {self.grid!r}: choose one of {', '.join(GRIDS)}")
        if len(self.tiles) != GRIDS[self.grid]:
            raise LayoutError(f"grid {self.grid} has {GRIDS[self.grid]} tiles, not {len(self.tiles)}")

    def cameras(self) -> builtins.list[str]:
        return sorted({c for tile in self.tiles for c in tile.cameras()})


class Layouts(Protocol):
    def add(self, layout: Layout) -> Layout: ...
    def get(self, layout_id: int) -> Layout | None: ...
    def of_commune(self, commune_id: str) -> builtins.list[Layout]: ...
    def count_of(self, commune_id: str, owner: str) -> int: ...
    def save(self, layout: Layout) -> Layout: ...
    def delete(self, layout_id: int) -> bool: ...


class WallOutputs(Protocol):
    def get(self, commune_id: str, name: str) -> WallOutput | None: ...
    def of_commune(self, commune_id: str) -> builtins.list[WallOutput]: ...
    def put(self, output: WallOutput) -> WallOutput: ...
