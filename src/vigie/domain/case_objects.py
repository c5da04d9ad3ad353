"""A case's object index (issue 22): what the detector and tracker found in the recordings of one case's scope,
stored for that case only and searched within it.

A row says *that* an object of a class was seen on a camera between two instants, where it went (compass heading,
zones entered, lines crossed) and where the picture that shows it is. For a person that is all there is: a person
is a class, never an identity — no appearance, face, body, clothing or colour attribute exists in these types, so
no search by them can be written (L25, L26). Colour is a vehicle's paint, kept for cars, vans, trucks and buses
only: on a two-wheeler the pixels a colour classifier would read are mostly its rider's clothes.

Pure data, the checks a person's query must pass (each refusal says what is wrong and how to fix it) and the port
that stores and searches; the SQL is ``vigie.storage.case_objects.SqlCaseObjects``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol, TypeVar

from vigie.domain.geometry import Box

MAX_PAGE: Final = 500
"""Most objects in one page of a query."""
MAX_NAMES: Final = 16
"""Most zones (and most lines) recorded for one object."""
NAME_LENGTH: Final = 64
"""Longest zone or line name (the storage column's width)."""
MAX_QUERY_CAMERAS: Final = 64
"""Most cameras in one query (a case's scope holds at most 64: ``vigie.domain.cases.MAX_CASE_CAMERAS``)."""


class CaseObjectError(ValueError):
    """An object found by the analysis cannot be stored as given (the message says which field and why)."""


class ObjectQueryError(ValueError):
    """A search of a case's objects is malformed (the message says which filter, what was given, what is accepted)."""


class ObjectClass(enum.StrEnum):
    """What the detector says an object is. A class, never an identity."""

    PERSON = "person"
    BICYCLE = "bicycle"
    MOTORCYCLE = "motorcycle"
    CAR = "car"
    VAN = "van"
    TRUCK = "truck"
    BUS = "bus"
    BAG = "bag"


COLOURED_CLASSES: Final = frozenset({ObjectClass.CAR, ObjectClass.VAN, ObjectClass.TRUCK, ObjectClass.BUS})
"""The classes that may carry a colour: vehicles whose body is what a colour classifier sees."""


class VehicleColour(enum.StrEnum):
    """A vehicle's body colour (never a person's: there is no colour for a person in Vigie)."""

    WHITE = "white"
    BLACK = "black"
    GREY = "grey"
    SILVER = "silver"
    RED = "red"
    BLUE = "blue"
    GREEN = "green"
    YELLOW = "yellow"
    ORANGE = "orange"
    BROWN = "brown"
    BEIGE = "beige"


class Direction(enum.StrEnum):
    """Compass heading of travel in the camera's calibrated frame (the analysis computes it; it is only stored)."""

    NORTH = "north"
    NORTH_EAST = "north_east"
    EAST = "east"
    SOUTH_EAST = "south_east"
    SOUTH = "south"
    SOUTH_WEST = "south_west"
    WEST = "west"
    NORTH_WEST = "north_west"


def _instant(value: datetime, what: str, error: type[ValueError]) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise error(f"{what} {value.isoformat()} has no time zone: give an aware instant (e.g. 2026-12-01T14:00Z)")
    return value.astimezone(UTC)


def _names(values: Iterable[str], what: str) -> tuple[str, ...]:
    names = tuple(values)
    if len(names) > MAX_NAMES:
        raise CaseObjectError(f"{what}: {len(names)} names, at most {MAX_NAMES} are kept for one object")
    for name in names:
        if not name or len(name) > NAME_LENGTH or name != name.strip():
            raise CaseObjectError(
                f"{what}: {name!r} is not a name: 1 to {NAME_LENGTH} characters, no leading or trailing space"
            )
    return tuple(sorted(set(names)))


@dataclass(frozen=True, slots=True)
class CaseObject:
    """One tracked object found in a case's recordings. Instants are stored as UTC; ``zones`` and ``lines`` come
    back sorted, without repeats. ``box`` is a representative box (normalised) on the frame at ``thumbnail_at``,
    the picture a result shows and where playback opens."""

    case_id: int
    camera_id: str
    track_id: int
    """The tracker's id within one analysis run of the camera (not unique across runs or cameras)."""
    object_class: ObjectClass
    colour: VehicleColour | None
    first_seen: datetime
    last_seen: datetime
    direction: Direction | None
    zones: tuple[str, ...]
    """Names of the zones (drawn on the camera) the object entered."""
    lines: tuple[str, ...]
    """Names of the lines it crossed."""
    box: Box
    thumbnail_at: datetime
    id: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # a frozen dataclass normalising its own fields
        set_(self, "object_class", _member(ObjectClass, self.object_class, "object_class", CaseObjectError))
        if self.colour is not None:
            set_(self, "colour", _member(VehicleColour, self.colour, "colour", CaseObjectError))
            if self.object_class not in COLOURED_CLASSES:
                raise CaseObjectError(
                    f"colour {self.colour} given for a {self.object_class}: only {_listed(COLOURED_CLASSES)} carry a "
                    f"colour — a person is a class, never described by appearance (L25); store colour=None"
                )
        if self.direction is not None:
            set_(self, "direction", _member(Direction, self.direction, "direction", CaseObjectError))
        if not self.camera_id:
            raise CaseObjectError("camera_id is empty: give the camera the object was seen on")
        first = _instant(self.first_seen, "first_seen", CaseObjectError)
        last = _instant(self.last_seen, "last_seen", CaseObjectError)
        thumb = _instant(self.thumbnail_at, "thumbnail_at", CaseObjectError)
        if last < first:
            raise CaseObjectError(f"last_seen {last.isoformat()} is before first_seen {first.isoformat()}")
        if not first <= thumb <= last:
            raise CaseObjectError(
                f"thumbnail_at {thumb.isoformat()} is outside [first_seen, last_seen] = "
                f"[{first.isoformat()}, {last.isoformat()}]: the thumbnail is a frame where the object was seen"
            )
        b = self.box
        if not (0 <= b.x <= 1 and 0 <= b.y <= 1 and 0 < b.w <= 1 - b.x + 1e-9 and 0 < b.h <= 1 - b.y + 1e-9):
            raise CaseObjectError(f"box {b} is not a box inside the picture: normalised x, y in [0, 1], w, h > 0")
        set_(self, "first_seen", first)
        set_(self, "last_seen", last)
        set_(self, "thumbnail_at", thumb)
        set_(self, "zones", _names(self.zones, "zones"))
        set_(self, "lines", _names(self.lines, "lines"))

    @property
    def dwell_seconds(self) -> float:
        """How long the object was seen."""
        return (self.last_seen - self.first_seen).total_seconds()


@dataclass(frozen=True, slots=True, order=True)
class ObjectCursor:
    """Where the next page starts: after the object first seen at ``first_seen`` with id ``id`` (pages are in
    (first_seen, id) order, so a page read later never repeats nor skips an object already stored)."""

    first_seen: datetime
    id: int

    def token(self) -> str:
        """A URL-safe text form: microseconds since the epoch and the id."""
        micros = (self.first_seen - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.id}"

    @classmethod
    def parse(cls, token: str) -> ObjectCursor:
        micros, sep, ident = token.partition(".")
        try:
            if not sep:
                raise ValueError(token)
            return cls(_EPOCH + timedelta(microseconds=int(micros)), int(ident))
        except (ValueError, OverflowError) as err:
            raise ObjectQueryError(
                f"cursor {token!r} is not one this search gave: pass the next_cursor of the previous page as is"
            ) from err


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_E = TypeVar("_E", bound=enum.StrEnum)


def _listed(values: Iterable[enum.StrEnum]) -> str:
    return ", ".join(sorted(v.value for v in values))


@dataclass(frozen=True, slots=True)
class ObjectQuery:
    """A search of one case's objects. Every filter left empty (or None) does not filter; the filters given all
    apply together. ``[start, end)`` keeps the objects seen at some instant of it (their [first_seen, last_seen]
    overlaps it). Results come in (first_seen, id) order, ``limit`` a page, the next page after ``after``."""

    case_id: int
    classes: frozenset[ObjectClass] = frozenset()
    colours: frozenset[VehicleColour] = frozenset()
    camera_ids: frozenset[str] = frozenset()
    start: datetime | None = None
    end: datetime | None = None
    direction: Direction | None = None
    zone: str | None = None
    """Objects that entered this zone."""
    line: str | None = None
    """Objects that crossed this line."""
    min_dwell_seconds: float | None = None
    limit: int = 50
    after: ObjectCursor | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "classes", frozenset(_parse_all(ObjectClass, self.classes, "classes")))
        set_(self, "colours", frozenset(_parse_all(VehicleColour, self.colours, "colours")))
        set_(self, "camera_ids", frozenset(self.camera_ids))
        if self.direction is not None:
            set_(self, "direction", _parse_all(Direction, [self.direction], "direction")[0])
        if not 1 <= self.limit <= MAX_PAGE:
            raise ObjectQueryError(f"limit {self.limit} is out of range: ask for 1 to {MAX_PAGE} objects a page")
        if len(self.camera_ids) > MAX_QUERY_CAMERAS or any(not c for c in self.camera_ids):
            raise ObjectQueryError(
                f"camera_ids: {len(self.camera_ids)} given, give 1 to {MAX_QUERY_CAMERAS} non-empty camera ids or none"
            )
        if self.colours and self.classes and not self.classes & COLOURED_CLASSES:
            raise ObjectQueryError(
                f"colours asked for classes {_listed(self.classes)}, which have no colour (a person is never searched "
                f"by appearance, L25): drop the colours or ask for {_listed(COLOURED_CLASSES)}"
            )
        if self.start is not None:
            set_(self, "start", _instant(self.start, "start", ObjectQueryError))
        if self.end is not None:
            set_(self, "end", _instant(self.end, "end", ObjectQueryError))
        if self.start is not None and self.end is not None and not self.start < self.end:
            raise ObjectQueryError(f"start {self.start.isoformat()} is not before end {self.end.isoformat()}")
        for what, name in (("zone", self.zone), ("line", self.line)):
            if name is not None and not 1 <= len(name) <= NAME_LENGTH:
                raise ObjectQueryError(f"{what} {name!r}: give a name of 1 to {NAME_LENGTH} characters, or none")
        if self.min_dwell_seconds is not None and not self.min_dwell_seconds >= 0:
            raise ObjectQueryError(f"min_dwell_seconds {self.min_dwell_seconds} is negative: give 0 or more seconds")
        if self.after is not None:
            set_(
                self, "after", ObjectCursor(_instant(self.after.first_seen, "cursor", ObjectQueryError), self.after.id)
            )

    @property
    def colourable_classes(self) -> frozenset[ObjectClass]:
        """The classes an object matching the colour filter may have (all classes without one)."""
        wanted = self.classes or frozenset(ObjectClass)
        return wanted & COLOURED_CLASSES if self.colours else wanted


def _parse_all(kind: type[_E], values: Iterable[str], what: str) -> list[_E]:
    return [_member(kind, value, what, ObjectQueryError) for value in values]


def _member(kind: type[_E], value: str, what: str, error: type[ValueError]) -> _E:
    try:
        return kind(value)
    except ValueError as err:
        raise error(f"{what}: {value!r} is not one of {_listed(kind)}") from err


@dataclass(frozen=True, slots=True)
class ObjectPage:
    """One page of a search; ``next_cursor`` is None on the last page."""

    objects: tuple[CaseObject, ...]
    next_cursor: ObjectCursor | None = None


class CaseObjects(Protocol):
    """Where a case's objects are kept (with the case: purged with it)."""

    def add_many(self, objects: Sequence[CaseObject]) -> list[int]:
        """Store objects found by an analysis (thousands at a time); their ids come back in the same order."""
        ...

    def replace_window(
        self, case_id: int, camera_id: str, start: datetime, end: datetime, objects: Sequence[CaseObject]
    ) -> list[int]:
        """In one transaction: delete the case's objects of ``camera_id`` first seen in [start, end), then store
        ``objects`` (a new search of that window): searching a window twice leaves one set. Their ids in order."""
        ...

    def query(self, query: ObjectQuery) -> ObjectPage:
        """The page of objects of ``query.case_id`` matching ``query`` after ``query.after``."""
        ...

    def count(self, query: ObjectQuery) -> int:
        """How many objects match ``query`` in all (its ``limit`` and ``after`` ignored)."""
        ...

    def get(self, case_id: int, object_id: int) -> CaseObject | None:
        """One object of the case (None: no such object in that case)."""
        ...

    def purge(self, case_id: int) -> int:
        """Delete every object stored for the case; how many there were."""
        ...
