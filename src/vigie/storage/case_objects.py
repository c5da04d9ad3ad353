"""The ``case_objects`` and ``case_object_zones`` tables (issue 22; implements
:class:`vigie.domain.case_objects.CaseObjects`): a case's object index, searched in pages in (first_seen, id) order.

How a search stays fast over millions of objects of one case (``bench/case_index.py``, 10 million, PostgreSQL):

- **One ordered index range per equality branch, merged.** Every index is led by ``case_id`` and ends with
  ``(first_seen, id)``. A search with a few values for the leading filters (3 cameras × 1 class, 1 class × 1
  colour, 1 zone × 1 class × 1 direction) becomes one branch per combination, each reading at most a page + 1 from
  its index in page order (``ORDER BY … LIMIT``), and the union of those few rows is sorted: no branch sorts or
  skips over rows that do not match, whatever the size of the case. ``camera_id IN (…)`` in one statement would
  instead sort every matching row of the three cameras before taking 50. Past ``MAX_BRANCHES`` combinations the
  search runs as one statement with ``IN`` lists (right, slower).
- **Time windows bounded from below.** An object seen in [start, end) has ``first_seen < end`` and
  ``last_seen >= start``; the second bound alone cannot use an index ordered by ``first_seen``. Since no object of
  the case stayed longer than the case's longest dwell (read from ``ix_case_objects_dwell``, one index probe), also
  ``first_seen >= start - longest dwell``: the scan starts there instead of at the case's first object.
- **Zones and lines in a child table** (see :class:`vigie.storage.tables.CaseObjectZoneRow` for why not arrays),
  carrying the object's class, direction and first sighting, so that class + zone + direction is one index range.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    union_all,
)

from vigie.domain.case_objects import (
    CaseObject,
    Direction,
    ObjectClass,
    ObjectCursor,
    ObjectPage,
    ObjectQuery,
    VehicleColour,
)
from vigie.domain.geometry import Box
from vigie.storage.database import for_reading, storage_errors
from vigie.storage.tables import CaseObjectRow, CaseObjectZoneRow, require_aware

MAX_BRANCHES: Final = 96
"""Most equality branches a search is split into (64 cameras × 1 class fits; 64 cameras × 8 classes does not)."""

_O = cast(Table, CaseObjectRow.__table__)  # a declarative class's table is a Table
_Z = cast(Table, CaseObjectZoneRow.__table__)
_OBJECT_COLUMNS: Final = [c for c in _O.c if c.name != "dwell_s"]
_DWELL_MARGIN: Final = timedelta(seconds=1)
"""Slack on the time floor for the float rounding of ``dwell_s``."""
ZONE, LINE = "zone", "line"


class SqlCaseObjects:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._reader = for_reading(engine)

    def add_many(self, objects: Sequence[CaseObject]) -> list[int]:
        if not objects:
            return []
        _check_new(objects)
        with storage_errors(self._engine, f"store {len(objects)} object(s) of a case"), self._engine.begin() as conn:
            return _insert(conn, objects)

    def replace_window(
        self, case_id: int, camera_id: str, start: datetime, end: datetime, objects: Sequence[CaseObject]
    ) -> list[int]:
        _check_new(objects)
        strays = [o for o in objects if o.case_id != case_id or o.camera_id != camera_id]
        if strays:
            raise ValueError(
                f"object of case {strays[0].case_id}, camera {strays[0].camera_id} given to replace "
                f"the objects of case {case_id}, camera {camera_id}"
            )
        old = select(_O.c.id).where(
            _O.c.case_id == case_id,
            _O.c.camera_id == camera_id,
            _O.c.first_seen >= require_aware(start, "start"),
            _O.c.first_seen < require_aware(end, "end"),
        )
        doing = f"replace the objects of case {case_id} on camera {camera_id} in a window"
        with storage_errors(self._engine, doing), self._engine.begin() as conn:
            conn.execute(delete(_Z).where(_Z.c.object_id.in_(old)))  # SQLite cascades only with its pragma on
            conn.execute(delete(_O).where(_O.c.id.in_(old)))
            return _insert(conn, objects) if objects else []

    def query(self, query: ObjectQuery) -> ObjectPage:
        with (
            storage_errors(self._engine, f"search the objects of case {query.case_id}"),
            self._reader.connect() as conn,
        ):
            floor = _time_floor(conn, query)
            if floor is _EMPTY:
                return ObjectPage(())
            statement = _search(query, floor)
            rows = conn.execute(statement).all()
            page, more = rows[: query.limit], len(rows) > query.limit
            names = _names_of(conn, [row.id for row in page])
        objects = tuple(_object(row, names.get(row.id, {})) for row in page)
        last = objects[-1] if objects and more else None
        cursor = None if last is None or last.id is None else ObjectCursor(last.first_seen, last.id)
        return ObjectPage(objects, cursor)

    def count(self, query: ObjectQuery) -> int:
        with storage_errors(self._engine, f"count the objects of case {query.case_id}"), self._reader.connect() as conn:
            floor = _time_floor(conn, query)
            if floor is _EMPTY:
                return 0
            where = [_O.c.case_id == query.case_id, *_object_filters(query, floor, _O.c.first_seen)]
            if query.zone is not None:
                where.append(_marked(ZONE, query.zone, _O.c.id))
            if query.line is not None:
                where.append(_marked(LINE, query.line, _O.c.id))
            return int(conn.execute(select(func.count()).select_from(_O).where(*where)).scalar_one())

    def get(self, case_id: int, object_id: int) -> CaseObject | None:
        with storage_errors(self._engine, f"read object {object_id} of case {case_id}"), self._reader.connect() as conn:
            row = conn.execute(select(*_OBJECT_COLUMNS).where(_O.c.case_id == case_id, _O.c.id == object_id)).first()
            if row is None:
                return None
            names = _names_of(conn, [row.id])
        return _object(row, names.get(row.id, {}))

    def purge(self, case_id: int) -> int:
        with storage_errors(self._engine, f"purge the objects of case {case_id}"), self._engine.begin() as conn:
            conn.execute(delete(_Z).where(_Z.c.case_id == case_id))
            result = conn.execute(delete(_O).where(_O.c.case_id == case_id))
            return int(getattr(result, "rowcount", 0) or 0)


def _check_new(objects: Sequence[CaseObject]) -> None:
    stored = [o for o in objects if o.id is not None]
    if stored:
        raise ValueError(f"object {stored[0].id} is already stored: add only objects without an id")


def _insert(conn: Connection, objects: Sequence[CaseObject]) -> list[int]:
    rows = [_object_values(o) for o in objects]
    ids = list(conn.execute(insert(_O).returning(_O.c.id, sort_by_parameter_order=True), rows).scalars().all())
    marks = [mark for object_id, o in zip(ids, objects, strict=True) for mark in _zone_values(object_id, o)]
    if marks:
        conn.execute(insert(_Z), marks)
    return ids


_EMPTY: Final = object()
"""The case has no object: nothing to search."""


def _time_floor(conn: Connection, query: ObjectQuery) -> Any:
    """The earliest ``first_seen`` an object seen in the query's window can have (None without a window start),
    or ``_EMPTY`` when the case holds no object."""
    if query.start is None:
        return None
    longest = conn.execute(select(func.max(_O.c.dwell_s)).where(_O.c.case_id == query.case_id)).scalar_one()
    if longest is None:
        return _EMPTY
    return query.start - timedelta(seconds=float(longest)) - _DWELL_MARGIN


def _object_filters(
    query: ObjectQuery, floor: Any, first_seen: Any, branched: Collection[str] = ()
) -> list[ColumnElement[bool]]:
    """Every filter of the query on ``case_objects`` but zone and line (``first_seen``: the column to bound in
    time, the one of the index the branch reads), leaving out those on the ``branched`` columns (their values
    are set one by one in each branch)."""
    where: list[ColumnElement[bool]] = []
    if (query.classes or query.colours) and "object_class" not in branched:
        where.append(_O.c.object_class.in_(sorted(c.value for c in query.colourable_classes)))
    if query.colours and "colour" not in branched:
        where.append(_O.c.colour.in_(sorted(c.value for c in query.colours)))
    if query.camera_ids and "camera_id" not in branched:
        where.append(_O.c.camera_id.in_(sorted(query.camera_ids)))
    if query.direction is not None and "direction" not in branched:
        where.append(_O.c.direction == query.direction.value)
    if query.min_dwell_seconds is not None:
        where.append(_O.c.dwell_s >= query.min_dwell_seconds)
    if query.start is not None:
        where.extend((_O.c.last_seen >= query.start, first_seen >= floor))
    if query.end is not None:
        where.append(first_seen < query.end)
    return where


def _marked(kind: str, name: str, object_id: Any) -> ColumnElement[bool]:
    marks = _Z.alias("marks")  # its own name: the zone branches read case_object_zones in the outer query too
    return exists().where(marks.c.object_id == object_id, marks.c.kind == kind, marks.c.name == name)


def _after(cursor: ObjectCursor | None, first_seen: Any, ident: Any) -> list[ColumnElement[bool]]:
    """Keyset condition (first_seen, id) > cursor, with the plain range first (what an index scan starts from)."""
    if cursor is None:
        return []
    return [first_seen >= cursor.first_seen, or_(first_seen > cursor.first_seen, ident > cursor.id)]


def _eq(column: Any, value: str | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def _search(query: ObjectQuery, floor: Any) -> Select[Any]:
    """The statement of one page (+ one row, to know whether another page follows).

    The branches select only the page keys (id, first_seen): the rows of the page are read once, by id, after
    the merge (and a zone branch whose other filters all lie in its index never reads ``case_objects``)."""
    take = query.limit + 1
    classes = _values(query.classes or query.colours, query.colourable_classes)
    dimensions: list[tuple[Any, list[str | None]]]
    if query.zone is not None or query.line is not None:
        kind, name = (ZONE, query.zone) if query.zone is not None else (LINE, query.line)
        first_seen, ident = _Z.c.first_seen, _Z.c.object_id
        head = [_Z.c.case_id == query.case_id, _Z.c.kind == kind, _Z.c.name == name]
        if query.zone is not None and query.line is not None:
            head.append(_marked(LINE, query.line, _Z.c.object_id))
        directions: list[str | None] = [*(d.value for d in Direction), None]
        if query.direction is not None:
            directions = [query.direction.value]
        dimensions = [(_Z.c.object_class, classes), (_Z.c.direction, directions)]
    else:
        first_seen, ident = _O.c.first_seen, _O.c.id
        head = [_O.c.case_id == query.case_id]
        if query.camera_ids:
            dimensions = [(_O.c.camera_id, [*sorted(query.camera_ids)]), (_O.c.object_class, classes)]
        elif query.classes or query.colours:
            dimensions = [(_O.c.object_class, classes), (_O.c.colour, _colours(query))]
        else:
            dimensions = []
    keys = (ident.label("id"), first_seen.label("first_seen"))
    head += _after(query.after, first_seen, ident)
    combinations = list(itertools.product(*(values for _, values in dimensions)))
    if len(combinations) > MAX_BRANCHES:
        # too many branches to merge: one statement with IN lists (the same rows, read less directly)
        filters = _object_filters(query, floor, first_seen)
        page = _keys(keys, ident, filters).where(*head, *filters).order_by(first_seen, ident).limit(take).subquery()
    else:
        # the branch's equalities replace the IN lists on the same columns: with both, PostgreSQL reads the index
        # range unordered (``= ANY`` in the index condition) and sorts all of a camera's objects of the class
        filters = _object_filters(query, floor, first_seen, {column.name for column, _ in dimensions})
        branches = [
            _keys(keys, ident, filters)
            .where(*head, *filters, *_equal(dimensions, combination))
            .order_by(first_seen, ident)
            .limit(take)
            for combination in combinations
        ]
        if len(branches) == 1:
            page = branches[0].subquery()
        else:
            merged = union_all(*(select(*branch.subquery().c) for branch in branches)).subquery()
            page = select(*merged.c).order_by(merged.c.first_seen, merged.c.id).limit(take).subquery()
    return (
        select(*_OBJECT_COLUMNS).select_from(_O.join(page, _O.c.id == page.c.id)).order_by(page.c.first_seen, page.c.id)
    )


def _equal(dimensions: list[tuple[Any, list[str | None]]], values: tuple[str | None, ...]) -> list[Any]:
    return [_eq(column, value) for (column, _), value in zip(dimensions, values, strict=True)]


def _keys(keys: tuple[Any, Any], ident: Any, filters: list[ColumnElement[bool]]) -> Select[Any]:
    """SELECT of the page keys, joining ``case_objects`` to a zone's rows only when a filter reads it."""
    if ident is _O.c.id or not filters:
        return select(*keys)
    return select(*keys).select_from(_Z.join(_O, _O.c.id == _Z.c.object_id))


def _values(given: Iterable[object], classes: Iterable[ObjectClass]) -> list[str | None]:
    """The classes to branch on: those asked (or allowed by the colours), else every class."""
    return [*sorted(c.value for c in (classes if given else ObjectClass))]


def _colours(query: ObjectQuery) -> list[str | None]:
    if query.colours:
        return [*sorted(c.value for c in query.colours)]
    return [*sorted(c.value for c in VehicleColour), None]


def _names_of(conn: Connection, ids: list[int]) -> dict[int, dict[str, list[str]]]:
    names: dict[int, dict[str, list[str]]] = {}
    if not ids:
        return names
    statement = select(_Z.c.object_id, _Z.c.kind, _Z.c.name).where(_Z.c.object_id.in_(ids))
    for object_id, kind, name in conn.execute(statement):
        names.setdefault(object_id, {}).setdefault(kind, []).append(name)
    return names


def _object_values(o: CaseObject) -> dict[str, Any]:
    return {
        "case_id": o.case_id,
        "camera_id": o.camera_id,
        "track_id": o.track_id,
        "object_class": o.object_class.value,
        "colour": None if o.colour is None else o.colour.value,
        "first_seen": o.first_seen,
        "last_seen": o.last_seen,
        "dwell_s": o.dwell_seconds,
        "direction": None if o.direction is None else o.direction.value,
        "box_x": o.box.x,
        "box_y": o.box.y,
        "box_w": o.box.w,
        "box_h": o.box.h,
        "thumbnail_at": o.thumbnail_at,
    }


def _zone_values(object_id: int, o: CaseObject) -> Iterable[dict[str, Any]]:
    for kind, names in ((ZONE, o.zones), (LINE, o.lines)):
        for name in names:
            yield {
                "object_id": object_id,
                "kind": kind,
                "name": name,
                "case_id": o.case_id,
                "object_class": o.object_class.value,
                "direction": None if o.direction is None else o.direction.value,
                "first_seen": o.first_seen,
            }


def _object(row: Any, names: dict[str, list[str]]) -> CaseObject:
    return CaseObject(
        case_id=row.case_id,
        camera_id=row.camera_id,
        track_id=row.track_id,
        object_class=ObjectClass(row.object_class),
        colour=None if row.colour is None else VehicleColour(row.colour),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        direction=None if row.direction is None else Direction(row.direction),
        zones=tuple(names.get(ZONE, ())),
        lines=tuple(names.get(LINE, ())),
        box=Box(row.box_x, row.box_y, row.box_w, row.box_h),
        thumbnail_at=row.thumbnail_at,
        id=row.id,
    )
