"""Message ids (issue 21): time-ordered UUIDs, each greater than the one before, whatever the clock does."""

from __future__ import annotations

import threading
import uuid

from vigie.devices.mqtt.ids import TimeOrderedIds


def test_ids_are_version_7_uuids_carrying_the_milliseconds() -> None:
    new_id = TimeOrderedIds(lambda: 1_765_000_000_123)
    value = uuid.UUID(new_id())
    assert (value.version, value.variant) == (7, uuid.RFC_4122)
    assert value.int >> 80 == 1_765_000_000_123


def test_each_id_is_greater_than_the_last_within_a_millisecond_and_when_the_clock_steps_back() -> None:
    times = iter([5_000, 5_000, 5_000, 4_000, 4_000, 6_000])
    new_id = TimeOrderedIds(lambda: next(times))
    ids = [new_id() for _ in range(6)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 6
    assert uuid.UUID(ids[4]).int >> 80 == 5_000  # the clock went back: the last time is kept, the counter moves


def test_more_than_4096_ids_in_one_millisecond_move_the_time_field_on() -> None:
    new_id = TimeOrderedIds(lambda: 7_000)
    ids = [new_id() for _ in range(5_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5_000
    assert uuid.UUID(ids[-1]).int >> 80 == 7_001


def test_ids_from_several_threads_are_all_distinct() -> None:
    new_id = TimeOrderedIds()
    seen: list[list[str]] = [[] for _ in range(4)]

    def make(out: list[str]) -> None:
        out.extend(new_id() for _ in range(2_000))

    threads = [threading.Thread(target=make, args=(out,)) for out in seen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for out in seen for i in out]
    assert len(set(every)) == 8_000
    assert all(out == sorted(out) for out in seen)


def test_two_generators_in_the_same_millisecond_do_not_collide() -> None:
    """Two processes (or a restart within a millisecond): the random bits keep them apart."""
    first, second = TimeOrderedIds(lambda: 9_000), TimeOrderedIds(lambda: 9_000)
    assert {first() for _ in range(100)}.isdisjoint({second() for _ in range(100)})
