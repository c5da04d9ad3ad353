"""Clocks the tests inject: the code under test never reads the host's time, so no test depends on the day it runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

T0 = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
"""A fixed instant for tests whose subject only compares times it is given (never "today")."""


class FakeClock:
    """Says the time it is set to until moved."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> None:
        self.now += delta if delta is not None else timedelta(**kwargs)


class StepClock:
    """Each reading is ``step`` after the previous one: ordered, distinct instants without sleeping."""

    def __init__(self, start: datetime = T0, step: timedelta = timedelta(seconds=1)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


class Ticks:
    """A monotonic clock in seconds, in ``time.monotonic``'s place: moves only when told (no sleeping to let a
    cache expire)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RunningClock:
    """The instant ``start``, moving on with the monotonic clock, which every process of the host shares: a service
    and its spawned workers agree on the time, far from the host's day, still moving (segments get distinct
    names). Picklable: workers receive it."""

    def __init__(self, start: datetime = T0) -> None:
        self.start = start
        self.origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)
