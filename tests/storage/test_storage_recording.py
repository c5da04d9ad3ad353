"""The segment index, holds and destruction register on both backends (few tests, each covering a lot: every
test migrates a fresh database)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import Engine, inspect
from tests.storage.storage_samples import T0

from vigie.domain.recording import Hold, Segment, SegmentState
from vigie.storage import (
    HoldAlreadyLiftedError,
    HoldNotFoundError,
    SegmentNotFoundError,
    SqlDestructionRegister,
    SqlHoldRepo,
    SqlSegmentIndex,
    StorageError,
)

MINUTE = timedelta(minutes=1)


def segment(camera: str, minute: int, *, length: int = 1, state: SegmentState = SegmentState.COMPLETE) -> Segment:
    start = T0 + minute * MINUTE
    return Segment(
        camera_id=camera,
        key=f"{camera}/{minute:04d}.mp4",
        start=start,
        end=start + length * MINUTE,
        bytes=1000 + minute,
        sha256=f"{minute:064x}",
        state=state,
    )


def test_segment_index_round_trip_queries_and_states(db: Engine) -> None:
    index = SqlSegmentIndex(db)
    stored = [index.add(segment("cam-a", m)) for m in (2, 0, 1)]
    quarantined = index.add(segment("cam-a", 5, state=SegmentState.QUARANTINED))
    other = index.add(segment("cam-b", 0))
    assert all(s.id is not None for s in stored)
    assert index.get(stored[0].id or 0) == stored[0]
    assert index.by_key("cam-b/0000.mp4") == other
    assert index.get(999_999) is None and index.by_key("nope") is None

    # between: playable only, overlapping [start, end), by start
    window = index.between("cam-a", T0 + 30 * timedelta(seconds=1), T0 + 10 * MINUTE)
    assert [s.key for s in window] == ["cam-a/0000.mp4", "cam-a/0001.mp4", "cam-a/0002.mp4"]
    assert index.between("cam-a", T0 + 1 * MINUTE, T0 + 2 * MINUTE) == [stored[2]]
    assert [s.camera_id for s in index.oldest(2)] == ["cam-a", "cam-b"]
    assert [s.key for s in index.oldest_stored(10, offset=3)] == ["cam-a/0002.mp4", "cam-a/0005.mp4"]
    assert [s.key for s in index.ended_before("cam-a", T0 + 2 * MINUTE, 10)] == ["cam-a/0000.mp4"]
    assert index.cameras() == ["cam-a", "cam-b"]

    assert index.count() == 5 and index.count(camera_id="cam-b") == 1
    assert index.total_bytes() == 1002 + 1000 + 1001 + 1005 + 1000
    index.set_state(quarantined.id or 0, SegmentState.DELETED, T0 + 40 * MINUTE)
    assert index.count(state=SegmentState.DELETED) == 1
    assert index.total_bytes(camera_id="cam-a") == 1002 + 1000 + 1001
    assert index.all_keys("cam-a") == {"cam-a/0000.mp4", "cam-a/0001.mp4", "cam-a/0002.mp4"}
    assert len(index.all_keys()) == 4
    assert index.get(quarantined.id or 0) == dataclasses.replace(quarantined, state=SegmentState.DELETED)

    with pytest.raises(SegmentNotFoundError):
        index.set_state(999_999, SegmentState.MISSING, T0)
    with pytest.raises(StorageError, match=r"index segment cam-b/0000\.mp4"):
        index.add(segment("cam-b", 0))
    with pytest.raises(ValueError, match="already indexed"):
        index.add(stored[0])


def test_segment_index_has_the_query_indexes(db: Engine) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(db).get_indexes("segments")}
    assert indexes["ix_segments_camera_id_start"] == ["camera_id", "start"]
    assert indexes["ix_segments_camera_id"] == ["camera_id"]
    uniques = {u["name"]: u["column_names"] for u in inspect(db).get_unique_constraints("segments")}
    assert uniques["uq_segments_key"] == ["key"]


def test_holds_place_lift_and_active(db: Engine) -> None:
    repo = SqlHoldRepo(db)
    hold = repo.place(
        Hold("cam-a", T0, T0 + MINUTE, "REQ-1", "PV-2025-1", "OPJ Martin", placed_at=T0, placed_by="alice")
    )
    second = repo.place(Hold("cam-b", T0, T0 + MINUTE, "REQ-2", "PV-2", "OPJ Durand", placed_at=T0 + MINUTE))
    assert hold.id is not None and second.id is not None
    assert repo.get(hold.id) == hold
    assert repo.active(T0 + MINUTE) == [hold, second]

    lifted = repo.lift(hold.id, T0 + 10 * MINUTE, "bob", "case closed")
    assert (lifted.lifted_at, lifted.lifted_by, lifted.lift_reason) == (T0 + 10 * MINUTE, "bob", "case closed")
    assert repo.active(T0 + 5 * MINUTE) == [lifted, second]  # lifted later than "now": still active then
    assert repo.active(T0 + 10 * MINUTE) == [second]
    assert repo.all() == [lifted, second]

    with pytest.raises(HoldAlreadyLiftedError, match="already lifted"):
        repo.lift(hold.id, T0 + 11 * MINUTE, "carol", "again")
    with pytest.raises(HoldNotFoundError):
        repo.lift(999_999, T0, "bob", "x")
    with pytest.raises(ValueError, match="at or before"):
        repo.place(Hold("cam-a", T0, T0, "R", "C", "O", placed_at=T0))


def test_destruction_register_merges_transmission_and_destruction(db: Engine) -> None:
    index = SqlSegmentIndex(db)
    register = SqlDestructionRegister(db)
    first, second = index.add(segment("cam-a", 0)), index.add(segment("cam-a", 1))
    register.record_transmission(second, T0 + 2 * MINUTE)
    register.record_destruction(first, T0 + 3 * MINUTE, "retention")
    register.record_destruction(second, T0 + 4 * MINUTE, "retention")
    lines = register.all()
    assert [(r.segment_id, r.key, r.sha256) for r in lines] == [
        (first.id, first.key, first.sha256),
        (second.id, second.key, second.sha256),
    ]
    assert (lines[0].destroyed_at, lines[0].reason, lines[0].transmitted_to_prosecutor_at) == (
        T0 + 3 * MINUTE,
        "retention",
        None,
    )
    assert (lines[1].destroyed_at, lines[1].transmitted_to_prosecutor_at) == (T0 + 4 * MINUTE, T0 + 2 * MINUTE)
    assert lines[1].start == second.start and lines[1].end == second.end
