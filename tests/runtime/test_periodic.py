"""Periodic jobs of the single writer's round (``vigie.runtime.workers.sink.Periodic``): a long job run apart never
holds the round, never runs twice at once, and is waited for at stop."""

from __future__ import annotations

import threading
from datetime import datetime

from tests.support.clocks import T0
from tests.support.waiting import wait_for
from vigie.runtime.workers.sink import Periodic


def test_a_job_apart_does_not_hold_the_round_nor_run_twice_at_once() -> None:
    release, runs = threading.Event(), []

    def purge(now: datetime) -> None:
        runs.append(now)
        release.wait(10)

    job = Periodic(0.0, purge, apart=True)
    job(T0)  # returns at once: the round goes on while the job runs
    wait_for(lambda: len(runs) == 1, 5, "the job started in its own thread")
    job(T0)
    job(T0)
    assert len(runs) == 1, "not started again while a run is under way"
    release.set()
    job.wait(5)
    job(T0)
    wait_for(lambda: len(runs) == 2, 5, "the next run, once the first ended")
    job.wait(5)


def test_a_failing_job_apart_is_logged_and_runs_again() -> None:
    calls = []

    def broken(now: datetime) -> None:
        calls.append(now)
        raise RuntimeError("the store is unreachable")

    job = Periodic(0.0, broken, apart=True)
    job(T0)
    job.wait(5)
    job(T0)
    job.wait(5)
    assert len(calls) == 2
