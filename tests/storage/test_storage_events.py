from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, insert
from storage_samples import T0, make_event

from vigie.domain.geometry import Box
from vigie.storage import EventNotFoundError, NaiveDatetimeError, SqlEventRepo
from vigie.storage.tables import EventRow


def test_add_returns_the_event_with_its_id_and_reads_back_equal(db: Engine) -> None:
    repo = SqlEventRepo(db)
    event = make_event()
    stored = repo.add(event)
    assert stored.id is not None
    assert event.id is None
    assert dataclasses.replace(stored, id=None) == event
    assert repo.get(stored.id) == stored
    assert repo.list() == [stored]


def test_ids_increase(db: Engine) -> None:
    repo = SqlEventRepo(db)
    ids = [repo.add(make_event()).id or 0 for _ in range(3)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3


def test_update_overwrites_the_stored_event(db: Engine) -> None:
    repo = SqlEventRepo(db)
    stored = repo.add(make_event())
    longer = dataclasses.replace(
        stored,
        ended_at=stored.ended_at + timedelta(minutes=1),
        region=stored.region.union(Box(0.5, 0.5, 0.2, 0.2)),
        score=0.95,
        observations=12,
    )
    repo.update(longer)
    assert repo.get(stored.id or 0) == longer
    assert repo.count() == 1


def test_update_many_overwrites_each_event_in_one_call_and_leaves_the_others(db: Engine) -> None:
    repo = SqlEventRepo(db)
    first, second, untouched = (repo.add(make_event(camera_id=c)) for c in ("cam-1", "cam-2", "cam-3"))
    grown = [
        dataclasses.replace(e, ended_at=e.ended_at + timedelta(seconds=n + 1), observations=n + 5, score=0.9)
        for n, e in enumerate((first, second))
    ]
    repo.update_many(grown)
    assert [repo.get(e.id or 0) for e in (*grown, untouched)] == [*grown, untouched]
    with pytest.raises(ValueError, match="no id"):
        repo.update_many([make_event()])


def test_update_needs_a_stored_event(db: Engine) -> None:
    repo = SqlEventRepo(db)
    with pytest.raises(ValueError, match="no id"):
        repo.update(make_event())
    with pytest.raises(EventNotFoundError):
        repo.update(dataclasses.replace(make_event(), id=424242))
    with pytest.raises(ValueError, match="already stored"):
        repo.add(dataclasses.replace(make_event(), id=1))


def test_list_is_newest_first_and_filters_by_camera_and_end(db: Engine) -> None:
    repo = SqlEventRepo(db)
    a1 = repo.add(make_event("a", start=timedelta(minutes=0)))
    b1 = repo.add(make_event("b", start=timedelta(minutes=1)))
    a2 = repo.add(make_event("a", start=timedelta(minutes=2), length=timedelta(minutes=10)))
    a3 = repo.add(make_event("a", start=timedelta(minutes=3)))

    assert repo.list() == [a3, a2, b1, a1]
    assert repo.list(camera_id="a") == [a3, a2, a1]
    assert repo.list(camera_id="nope") == []
    # since filters on ended_at: a2 started before the cut but was still going on.
    since = T0 + timedelta(minutes=3)
    assert repo.list(since=since) == [a3, a2]
    assert repo.list(camera_id="b", since=since) == []
    # ended exactly at `since` is kept.
    assert repo.list(since=a1.ended_at) == [a3, a2, b1, a1]
    assert repo.count() == 4
    assert repo.count(camera_id="a") == 3
    assert repo.count(camera_id="a", since=since) == 2


def test_pagination_walks_every_event_once(db: Engine) -> None:
    repo = SqlEventRepo(db)
    # Several events share a start time: the id breaks the tie so pages never overlap.
    added = [repo.add(make_event(start=timedelta(seconds=i // 3))) for i in range(25)]
    pages = [repo.list(limit=10, offset=offset) for offset in (0, 10, 20, 30)]
    assert [len(p) for p in pages] == [10, 10, 5, 0]
    walked = [e.id for page in pages for e in page]
    expected = [e.id for e in sorted(added, key=lambda e: (e.started_at, e.id or 0), reverse=True)]
    assert walked == expected
    assert repo.list(limit=0) == []


def test_pages_are_bounded(db: Engine) -> None:
    repo = SqlEventRepo(db)
    with pytest.raises(ValueError, match="limit"):
        repo.list(limit=100_000)
    with pytest.raises(ValueError, match="offset"):
        repo.list(offset=-1)


def test_datetimes_come_back_aware_utc_whatever_zone_went_in(db: Engine) -> None:
    repo = SqlEventRepo(db)
    paris_summer = timezone(timedelta(hours=2))
    started = datetime(2025, 7, 14, 23, 30, 15, 123456, tzinfo=paris_summer)
    stored = repo.add(dataclasses.replace(make_event(), started_at=started, ended_at=started + timedelta(hours=1)))
    [back] = repo.list()
    assert back.started_at == started
    assert back.started_at.tzinfo is UTC
    assert back.started_at == datetime(2025, 7, 14, 21, 30, 15, 123456, tzinfo=UTC)
    assert back.ended_at.tzinfo is UTC
    assert back == stored
    # Filtering compares instants, not wall times.
    assert repo.list(since=datetime(2025, 7, 15, 0, 30, 15, tzinfo=paris_summer)) == [back]
    assert repo.list(since=datetime(2025, 7, 15, 0, 31, tzinfo=paris_summer)) == []


def test_naive_datetimes_are_refused(db: Engine) -> None:
    repo = SqlEventRepo(db)
    naive = datetime(2025, 3, 1, 12, 0)
    with pytest.raises(NaiveDatetimeError, match="no time zone"):
        repo.add(dataclasses.replace(make_event(), started_at=naive))
    with pytest.raises(ValueError, match="no time zone"):
        repo.list(since=naive)
    stored = repo.add(make_event())
    with pytest.raises(NaiveDatetimeError):
        repo.update(dataclasses.replace(stored, ended_at=naive))
    assert repo.list() == [stored]


def test_the_column_type_itself_refuses_naive_datetimes(db: Engine) -> None:
    row = {
        "camera_id": "c",
        "module": "m",
        "kind": "k",
        "started_at": datetime(2025, 3, 1, 12, 0),
        "ended_at": T0,
        "region_x": 0.0,
        "region_y": 0.0,
        "region_w": 1.0,
        "region_h": 1.0,
        "score": 1.0,
    }
    with pytest.raises(Exception, match="no time zone") as caught, db.begin() as conn:
        conn.execute(insert(EventRow).values(row))
    assert isinstance(caught.value.__cause__ or caught.value.orig, NaiveDatetimeError)  # type: ignore[attr-defined]
    assert SqlEventRepo(db).count() == 0
