"""A case's object index (issue 22) on SQLite and PostgreSQL: objects come back as stored, every filter combines
with the others exactly as a reading of the rules would, pages in (first_seen, id) order return every match once,
a case never sees another case's objects, and its objects go with it."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from tests.support.clocks import T0

from vigie.domain.case_objects import (
    COLOURED_CLASSES,
    CaseObject,
    CaseObjectError,
    Direction,
    ObjectClass,
    ObjectCursor,
    ObjectQuery,
    ObjectQueryError,
    VehicleColour,
)
from vigie.domain.cases import AuthorityKind, Case
from vigie.domain.geometry import Box
from vigie.storage.case_objects import SqlCaseObjects
from vigie.storage.cases import SqlCaseRepo
from vigie.storage.tables import CaseObjectZoneRow, CaseRow

CAMERAS = ("vil-1", "vil-2", "vil-3", "vil-4")
ZONES = ("parvis", "quai")
LINES = ("entree", "sortie")


def open_case(db: Engine, reference: str = "PV-1") -> int:
    case = SqlCaseRepo(db).add(
        Case(
            commune_id="villeurbanne",
            reference=reference,
            requisition_ref="REQ-1",
            authority="OPJ Martin",
            authority_kind=AuthorityKind.OFFICER,
            requisition_date=date(2025, 4, 30),
            purpose="vol",
            camera_ids=CAMERAS,
            start=T0 - timedelta(days=1),
            end=T0 + timedelta(days=1),
            opened_by="inv.vil",
            opened_at=T0 + timedelta(days=2),
        )
    )
    assert case.id is not None
    return case.id


def an_object(case_id: int, **changes: object) -> CaseObject:
    fields: dict[str, object] = {
        "case_id": case_id,
        "camera_id": "vil-1",
        "track_id": 7,
        "object_class": ObjectClass.CAR,
        "colour": VehicleColour.WHITE,
        "first_seen": T0,
        "last_seen": T0 + timedelta(seconds=30),
        "direction": Direction.NORTH,
        "zones": (),
        "lines": (),
        "box": Box(0.1, 0.2, 0.3, 0.25),
        "thumbnail_at": T0 + timedelta(seconds=10),
    }
    fields.update(changes)
    return CaseObject(**fields)  # type: ignore[arg-type]


def random_objects(case_id: int, n: int, seed: int) -> list[CaseObject]:
    rng = random.Random(seed)
    objects = []
    for track in range(n):
        cls = rng.choice([ObjectClass.PERSON] * 3 + [ObjectClass.CAR] * 3 + list(ObjectClass))
        first = T0 + timedelta(seconds=rng.randrange(0, 4 * 3600), microseconds=rng.randrange(0, 1_000_000))
        dwell = timedelta(seconds=rng.choice([0, 5, 40, 300, 900, 3 * 3600]))
        objects.append(
            an_object(
                case_id,
                camera_id=rng.choice(CAMERAS),
                track_id=track,
                object_class=cls,
                colour=rng.choice([*list(VehicleColour)[:4], None]) if cls in COLOURED_CLASSES else None,
                first_seen=first,
                last_seen=first + dwell,
                thumbnail_at=first,
                direction=rng.choice([*Direction, None]),
                zones=tuple(z for z in ZONES if rng.random() < 0.3),
                lines=tuple(line for line in LINES if rng.random() < 0.3),
            )
        )
    # ties on first_seen: the id decides the order
    tie = objects[0].first_seen
    objects[1] = replace(objects[1], first_seen=tie, last_seen=tie + timedelta(seconds=5), thumbnail_at=tie)
    return objects


def matches(o: CaseObject, q: ObjectQuery) -> bool:
    """The rules, read plainly."""
    return (
        o.case_id == q.case_id
        and (not q.classes or o.object_class in q.classes)
        and (not q.colours or o.colour in q.colours)
        and (not q.camera_ids or o.camera_id in q.camera_ids)
        and (q.start is None or o.last_seen >= q.start)
        and (q.end is None or o.first_seen < q.end)
        and (q.direction is None or o.direction is q.direction)
        and (q.zone is None or q.zone in o.zones)
        and (q.line is None or q.line in o.lines)
        and (q.min_dwell_seconds is None or o.dwell_seconds >= q.min_dwell_seconds)
    )


def every_page(store: SqlCaseObjects, query: ObjectQuery) -> Iterator[CaseObject]:
    cursor = None
    for _ in range(1000):
        page = store.query(replace(query, after=cursor))
        assert len(page.objects) <= query.limit
        yield from page.objects
        if page.next_cursor is None:
            return
        assert len(page.objects) == query.limit
        cursor = ObjectCursor.parse(page.next_cursor.token())  # the token a client sends back
    raise AssertionError("paging never ended")


def test_objects_come_back_as_stored_with_their_zones_and_lines(db: Engine) -> None:
    case_id = open_case(db)
    store = SqlCaseObjects(db)
    given = [
        an_object(case_id, zones=("quai", "parvis", "quai"), lines=("sortie",)),
        an_object(
            case_id,
            object_class=ObjectClass.PERSON,
            colour=None,
            direction=None,
            first_seen=datetime(2025, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=2))),  # 08:00 UTC = T0
            last_seen=T0 + timedelta(minutes=7),
            thumbnail_at=T0 + timedelta(minutes=1),
        ),
    ]
    ids = store.add_many(given)
    assert len(set(ids)) == 2
    page = store.query(ObjectQuery(case_id))
    assert page.objects == tuple(replace(o, id=i) for o, i in zip(given, ids, strict=True))
    assert page.objects[0].zones == ("parvis", "quai") and page.objects[0].lines == ("sortie",)
    assert page.objects[1].first_seen.tzinfo is not None and page.objects[1].first_seen.utcoffset() == timedelta(0)
    assert page.objects[1].dwell_seconds == 420
    assert page.next_cursor is None
    assert store.add_many([]) == []
    assert store.get(case_id, ids[0]) == page.objects[0]  # one object by id, with its zones and lines
    assert store.get(case_id + 1, ids[0]) is None and store.get(case_id, max(ids) + 1) is None


def window(start_s: int, end_s: int) -> dict[str, datetime]:
    return {"start": T0 + timedelta(seconds=start_s), "end": T0 + timedelta(seconds=end_s)}


CAR, VAN, PERSON, BAG = ObjectClass.CAR, ObjectClass.VAN, ObjectClass.PERSON, ObjectClass.BAG
WHITE, GREY, BLACK = VehicleColour.WHITE, VehicleColour.GREY, VehicleColour.BLACK
QUERIES: list[dict[str, Any]] = [
    {},
    {"classes": {CAR}, "colours": {WHITE}, **window(3600, 7200)},
    {"classes": {CAR, VAN}, "colours": {WHITE, GREY}},
    {"colours": {BLACK}},
    {"classes": {PERSON}, "zone": "parvis", "direction": Direction.NORTH},
    {"classes": {PERSON}, "zone": "parvis"},
    {"zone": "quai", "line": "entree", **window(1800, 5400)},
    {"line": "sortie", "classes": {CAR}, "min_dwell_seconds": 40},
    {"camera_ids": {"vil-1", "vil-3", "vil-4"}, "classes": {PERSON}},
    {"camera_ids": {"vil-2"}},
    {"camera_ids": {"vil-2", "vil-3"}, "direction": Direction.EAST, **window(7000, 7300)},
    window(100, 200),
    {"min_dwell_seconds": 300, **window(3 * 3600, 3 * 3600 + 60)},
    {"classes": {BAG}, "min_dwell_seconds": 0},
    {"camera_ids": {f"vil-{i}" for i in range(1, 14)}, **window(600, 9000)},  # 13 cameras × 8 classes: one statement
    {"zone": "quai"},  # 8 classes × 9 directions (none included)
    {"zone": "parvis", "line": "sortie"},  # the zone's index alone, the line checked beside it
]


@pytest.mark.parametrize("filters", QUERIES, ids=[str(i) for i in range(len(QUERIES))])
def test_every_filter_combination_pages_every_match_once_in_order(db: Engine, filters: dict[str, Any]) -> None:
    case_id, other = open_case(db), open_case(db, "PV-2")
    store = SqlCaseObjects(db)
    objects = random_objects(case_id, 260, seed=22)
    ids = store.add_many(objects)
    store.add_many([replace(o, case_id=other) for o in random_objects(other, 60, seed=23)])
    stored = [replace(o, id=i) for o, i in zip(objects, ids, strict=True)]
    sets = {k: frozenset(v) for k, v in filters.items() if isinstance(v, set)}
    query = ObjectQuery(case_id, **{**filters, **sets}, limit=7)
    expected = sorted((o for o in stored if matches(o, query)), key=lambda o: (o.first_seen, o.id))
    assert expected, "the sample must hold matches for the query to prove anything"
    assert list(every_page(store, query)) == expected
    assert store.count(query) == len(expected)
    whole = store.query(replace(query, limit=500))
    assert list(whole.objects) == expected and whole.next_cursor is None


def test_thousands_of_objects_in_one_call_keep_their_own_zones(db: Engine) -> None:
    case_id = open_case(db)
    store = SqlCaseObjects(db)
    given = [
        an_object(case_id, track_id=i, zones=("quai",) if i % 3 == 0 else (), lines=("entree",) if i % 5 == 0 else ())
        for i in range(2500)  # several of the driver's batches
    ]
    ids = store.add_many(given)
    assert len(ids) == len(set(ids)) == 2500
    quai = store.query(ObjectQuery(case_id, zone="quai", limit=500))
    assert [o.track_id for o in quai.objects] == list(range(0, 1500, 3))
    assert all(o.id == ids[o.track_id] for o in quai.objects)
    assert store.count(ObjectQuery(case_id, zone="quai", line="entree")) == len(range(0, 2500, 15))


def test_a_window_keeps_the_objects_seen_during_it(db: Engine) -> None:
    case_id = open_case(db)
    store = SqlCaseObjects(db)
    parked = an_object(case_id, track_id=1, last_seen=T0 + timedelta(hours=5), thumbnail_at=T0)
    two, six = T0 + timedelta(hours=2), T0 + timedelta(hours=6)
    short = an_object(case_id, track_id=2, first_seen=two, last_seen=two, thumbnail_at=two)
    late = an_object(case_id, track_id=3, first_seen=six, last_seen=six + timedelta(minutes=1), thumbnail_at=six)
    store.add_many([parked, short, late])

    def tracks(start: timedelta, end: timedelta) -> list[int]:
        page = store.query(ObjectQuery(case_id, start=T0 + start, end=T0 + end))
        return [o.track_id for o in page.objects]

    hour = timedelta(hours=1)
    assert tracks(4 * hour, 4.5 * hour) == [1]  # seen long before the window, still there during it
    assert tracks(5 * hour, 6 * hour) == [1]  # last seen at the window's start: seen during it
    assert tracks(2 * hour, 2 * hour + timedelta(microseconds=1)) == [1, 2]  # an instant's sighting counts
    assert tracks(hour, 2 * hour) == [1]  # the window's end is excluded
    assert tracks(5 * hour + timedelta(microseconds=1), 6 * hour) == []
    assert tracks(6 * hour, 7 * hour) == [3]


def test_a_case_sees_only_its_objects_and_they_go_with_it(db: Engine) -> None:
    mine, theirs = open_case(db), open_case(db, "PV-2")
    store = SqlCaseObjects(db)
    store.add_many([an_object(mine, zones=("quai",)), an_object(mine, camera_id="vil-2")])
    store.add_many([an_object(theirs, zones=("quai",)), an_object(theirs, lines=("entree",))])
    for query in (
        ObjectQuery(mine),
        ObjectQuery(mine, zone="quai"),
        ObjectQuery(mine, classes=frozenset({ObjectClass.CAR}), colours=frozenset({VehicleColour.WHITE})),
        ObjectQuery(mine, camera_ids=frozenset({"vil-1", "vil-2"}), classes=frozenset({ObjectClass.CAR})),
    ):
        assert {o.case_id for o in store.query(query).objects} == {mine}
    assert store.query(ObjectQuery(mine, line="entree")).objects == ()
    assert store.count(ObjectQuery(mine)) == 2

    assert store.purge(mine) == 2
    assert store.count(ObjectQuery(mine)) == 0 and store.query(ObjectQuery(mine, zone="quai")).objects == ()
    assert store.count(ObjectQuery(theirs)) == 2

    with db.begin() as conn:  # the case itself deleted: its objects, zones and lines with it
        conn.execute(delete(CaseRow).where(CaseRow.id == theirs))
    assert store.count(ObjectQuery(theirs)) == 0
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CaseObjectZoneRow)).scalar_one() == 0


def test_objects_of_an_unknown_case_are_refused(db: Engine) -> None:
    from vigie.storage.errors import StorageError

    with pytest.raises(StorageError, match="store 1 object"):
        SqlCaseObjects(db).add_many([an_object(10_000)])


def test_a_person_is_never_described_by_a_colour() -> None:
    with pytest.raises(CaseObjectError, match=r"colour white given for a person.*L25.*colour=None"):
        an_object(1, object_class=ObjectClass.PERSON)
    with pytest.raises(CaseObjectError, match="given for a bicycle"):
        an_object(1, object_class=ObjectClass.BICYCLE, colour=VehicleColour.RED)
    with pytest.raises(ObjectQueryError, match=r"classes person, which have no colour.*drop the colours"):
        ObjectQuery(1, classes=frozenset({ObjectClass.PERSON}), colours=frozenset({VehicleColour.WHITE}))


def test_malformed_objects_are_refused_with_the_field_named() -> None:
    naive = datetime(2025, 5, 1, 8, 0)
    with pytest.raises(CaseObjectError, match="first_seen 2025-05-01T08:00:00 has no time zone"):
        an_object(1, first_seen=naive)
    with pytest.raises(CaseObjectError, match=r"last_seen .* is before first_seen"):
        an_object(1, last_seen=T0 - timedelta(seconds=1))
    with pytest.raises(CaseObjectError, match=r"thumbnail_at .* is outside"):
        an_object(1, thumbnail_at=T0 + timedelta(hours=1))
    with pytest.raises(CaseObjectError, match=r"box .* inside the picture"):
        an_object(1, box=Box(0.9, 0.1, 0.5, 0.1))
    with pytest.raises(CaseObjectError, match="zones: '' is not a name"):
        an_object(1, zones=("",))
    with pytest.raises(CaseObjectError, match="colour: 'teal' is not one of beige, black, blue"):
        an_object(1, colour="teal")
    with pytest.raises(CaseObjectError, match="object_class: 'face' is not one of bag, bicycle"):
        an_object(1, object_class="face")


def test_malformed_queries_are_refused_saying_how_to_fix_them() -> None:
    naive = datetime(2025, 5, 1, 8, 0)
    with pytest.raises(ObjectQueryError, match="limit 501 is out of range: ask for 1 to 500"):
        ObjectQuery(1, limit=501)
    with pytest.raises(ObjectQueryError, match="limit 0"):
        ObjectQuery(1, limit=0)
    with pytest.raises(ObjectQueryError, match="start 2025-05-01T08:00:00 has no time zone"):
        ObjectQuery(1, start=naive, end=T0)
    with pytest.raises(ObjectQueryError, match="is not before end"):
        ObjectQuery(1, start=T0, end=T0)
    with pytest.raises(ObjectQueryError, match="classes: 'face' is not one of bag, bicycle"):
        ObjectQuery(1, classes=frozenset({"face"}))  # type: ignore[arg-type]
    with pytest.raises(ObjectQueryError, match="min_dwell_seconds -1 is negative"):
        ObjectQuery(1, min_dwell_seconds=-1)
    with pytest.raises(ObjectQueryError, match="camera_ids: 65 given"):
        ObjectQuery(1, camera_ids=frozenset(f"c{i}" for i in range(65)))
    with pytest.raises(ObjectQueryError, match="cursor 'abc' is not one this search gave"):
        ObjectCursor.parse("abc")
    cursor = ObjectCursor(T0 + timedelta(microseconds=5), 42)
    assert ObjectCursor.parse(cursor.token()) == cursor
