"""Waiting for something another thread or process does: the one polling loop of the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    *,
    every: float = 0.05,
    context: Callable[[], object] | None = None,
) -> T:
    """Call ``condition`` until it returns something true and return that; after ``timeout`` seconds (the
    monotonic clock, which no test moves), fail the test saying ``what`` was awaited, the last value seen and,
    when given, ``context()`` (e.g. the health reports of the camera awaited).

    Never returns a false value: a test cannot go on past a wait that did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = f"; context: {context()!r}" if context is not None else ""
            raise AssertionError(f"waited {timeout:g} s for {what}; last seen: {value!r}{seen}")
        time.sleep(every)
