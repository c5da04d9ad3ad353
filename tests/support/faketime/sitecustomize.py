"""Loaded by Python at start-up when this folder is on ``PYTHONPATH``: only for the test pass run under Debian's
``faketime`` (libfaketime 0.9.10) with ``FAKETIME_DONT_FAKE_MONOTONIC=1``.

Why both are needed: with the monotonic clock faked, every ``threading`` wait with a timeout (``Event.wait``,
``Lock.acquire(timeout=…)``, ``queue.get(timeout=…)``) hangs, because glibc's ``sem_clockwait`` is not intercepted
and receives a deadline a year away. With it left alone, Python ≥ 3.11's ``time.sleep`` fails with ``OSError: [Errno
22] Invalid argument``: it calls ``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, …)``, which libfaketime 0.9.10
shifts by the fake offset into a negative time (https://github.com/wolfcw/libfaketime/issues/426, fixed after
0.9.10). So here ``time.sleep`` waits in ``select()``, whose timeout is relative. It is installed in every Python
process of the pass (the CLI and servers the tests start inherit ``PYTHONPATH``), and nowhere else: outside
faketime this module changes nothing."""

from __future__ import annotations

import os
import select
import time


def _sleep(seconds: float) -> None:
    """``time.sleep`` on a relative timeout: same refusals, resumes after a signal until the time has passed."""
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    remaining = float(seconds)
    while remaining > 0:
        select.select([], [], [], remaining)  # noqa: TID251 (no descriptor watched: a sleep)
        remaining = deadline - time.monotonic()


if os.environ.get("FAKETIME") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":
    time.sleep = _sleep
