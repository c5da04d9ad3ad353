"""Retention and holds as pure functions (L3, L4): examples, then properties over any segments, holds and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from vigie.config.camera import Authorisation, Camera
from vigie.domain.recording import Hold, Segment, SegmentState
from vigie.recording.retention import (
    DESTROYABLE,
    deletable,
    disk_pressure_plan,
    expired,
    held,
    purge_plan,
    retention_days,
    retention_period,
)

T0 = datetime(2025, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)
CAMERAS = ("cam-a", "cam-b", "cam-c")


def seg(
    camera: str = "cam-a",
    start_h: float = 0,
    hours: float = 1,
    *,
    state: SegmentState = SegmentState.COMPLETE,
    size: int = 100,
    n: int = 0,
) -> Segment:
    start = T0 + timedelta(hours=start_h)
    return Segment(camera, f"{camera}/{n}-{start_h}", start, start + timedelta(hours=hours), size, "0" * 64, state, n)


def hold(camera: str = "cam-a", start_h: float = 0, hours: float = 1, lifted_h: float | None = None) -> Hold:
    start = T0 + timedelta(hours=start_h)
    lifted = None if lifted_h is None else T0 + timedelta(hours=lifted_h)
    return Hold(camera, start, start + timedelta(hours=hours), "REQ", "PV", "OPJ", placed_at=T0, lifted_at=lifted)


def camera(days: int) -> Camera:
    auth = Authorisation.model_construct(retention_days=days)
    return Camera.model_construct(id="cam-a", authorisation=auth)


def test_retention_days_is_the_authorisation_capped_at_30() -> None:
    assert retention_days(camera(15)) == 15
    assert retention_days(camera(30)) == 30
    assert retention_days(camera(90)) == 30  # never more than 30 days, even if a bad config slipped through
    assert retention_period(camera(7)) == 7 * DAY


def test_a_segment_expires_when_its_end_is_older_than_retention() -> None:
    s = seg(start_h=0, hours=1)  # ends at T0 + 1h
    assert not expired(s, s.end + 15 * DAY, 15 * DAY)
    assert expired(s, s.end + 15 * DAY + timedelta(microseconds=1), 15 * DAY)
    assert not expired(s, s.start + 15 * DAY + timedelta(minutes=30), 15 * DAY)  # start old enough, end not


def test_an_active_hold_protects_until_lifted() -> None:
    s = seg(start_h=10)
    now = T0 + 40 * DAY
    assert deletable(s, now, 15 * DAY, [])
    assert not deletable(s, now, 15 * DAY, [hold(start_h=10.5, hours=0.1)])  # overlaps
    assert deletable(s, now, 15 * DAY, [hold(camera="cam-b", start_h=10)])  # other camera
    assert deletable(s, now, 15 * DAY, [hold(start_h=11)])  # [start, end) does not touch the segment
    assert not deletable(s, now, 15 * DAY, [hold(start_h=10, lifted_h=40 * 24 + 1)])  # lifted later
    assert deletable(s, now, 15 * DAY, [hold(start_h=10, lifted_h=39 * 24)])  # lifted before now
    assert not deletable(seg(state=SegmentState.DELETED), now, 15 * DAY, [])


def test_purge_plan_uses_each_cameras_retention() -> None:
    a, b = seg("cam-a", 0, n=1), seg("cam-b", 0, n=2)
    days = {"cam-a": 7 * DAY, "cam-b": 30 * DAY}
    assert purge_plan([a, b], T0 + 10 * DAY, days.__getitem__, []) == [a]


def test_disk_pressure_skips_held_and_stops_when_enough_is_freed() -> None:
    old, kept, mid, new = seg(start_h=0, n=1), seg(start_h=1, n=2), seg(start_h=2, n=3), seg(start_h=3, n=4)
    holds = [hold(start_h=1)]
    assert disk_pressure_plan([old, kept, mid, new], 150, holds, T0) == [old, mid]
    assert disk_pressure_plan([old, kept, mid, new], 0, holds, T0) == []
    assert disk_pressure_plan([kept], 10_000, holds, T0) == []  # everything held: frees nothing


# --- properties ------------------------------------------------------------------------------------------------

hours = st.integers(min_value=0, max_value=24 * 40)
states = st.sampled_from(list(SegmentState))


@st.composite
def segments(draw: st.DrawFn) -> list[Segment]:
    items = draw(
        st.lists(
            st.tuples(st.sampled_from(CAMERAS), hours, st.integers(1, 6), states, st.integers(0, 1000)), max_size=25
        )
    )
    return [seg(c, h, length, state=state, size=size, n=i) for i, (c, h, length, state, size) in enumerate(items)]


@st.composite
def holds_(draw: st.DrawFn) -> list[Hold]:
    items = draw(
        st.lists(st.tuples(st.sampled_from(CAMERAS), hours, st.integers(1, 48), st.none() | hours), max_size=4)
    )
    return [hold(c, h, length, lifted) for c, h, length, lifted in items]


retentions = st.fixed_dictionaries({c: st.integers(1, 30).map(lambda d: d * DAY) for c in CAMERAS})
nows = hours.map(lambda h: T0 + timedelta(hours=h))
FAST = settings(max_examples=150, deadline=None)


@FAST
@given(segments(), holds_(), retentions, nows)
def test_purge_plan_is_exactly_the_expired_unheld_stored_segments(
    segs: list[Segment], holds: list[Hold], retention: dict[str, timedelta], now: datetime
) -> None:
    plan = purge_plan(segs, now, retention.__getitem__, holds)
    expected = [
        s
        for s in segs
        if s.state in DESTROYABLE and expired(s, now, retention[s.camera_id]) and not held(s, holds, now)
    ]
    assert plan == expected
    assert not any(held(s, holds, now) for s in plan)


@FAST
@given(segments(), holds_(), nows, st.integers(0, 10_000))
def test_disk_pressure_plan_never_holds_is_oldest_first_and_frees_enough(
    segs: list[Segment], holds: list[Hold], now: datetime, to_free: int
) -> None:
    oldest_first = sorted(segs, key=lambda s: (s.start, s.id or 0))
    plan = disk_pressure_plan(oldest_first, to_free, holds, now)
    assert not any(held(s, holds, now) for s in plan)
    assert all(s.state in DESTROYABLE for s in plan)
    positions = [oldest_first.index(s) for s in plan]
    assert positions == sorted(positions)
    candidates = [s for s in oldest_first if s.state in DESTROYABLE and not held(s, holds, now)]
    available = sum(s.bytes for s in candidates)
    freed = sum(s.bytes for s in plan)
    if available >= to_free:
        assert freed >= to_free
        assert plan == candidates[: len(plan)]  # oldest unheld first, skipping none
        assert freed - plan[-1].bytes < to_free if plan else to_free == 0  # and no more than needed
    else:
        assert plan == candidates  # frees all it may, never a held one
