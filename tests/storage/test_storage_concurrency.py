"""Many writers at once: nothing is lost and no "database is locked" escapes (the Frigate complaint)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine
from storage_samples import T0, make_event

from vigie.domain.camera import CameraHealth, HealthState
from vigie.storage import SqlCameraStatusRepo, SqlEventRepo, create_engine_for

THREADS = 4
PER_THREAD = 50


def run_together(work: Callable[[int], None]) -> list[BaseException]:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_concurrent_event_writers_on_one_engine_lose_nothing(db: Engine) -> None:
    repo = SqlEventRepo(db)
    ids: list[int] = []

    def work(n: int) -> None:
        for i in range(PER_THREAD):
            ids.append(repo.add(make_event(f"cam-{n}", start=timedelta(seconds=i))).id or -1)
            if i % 10 == 0:
                repo.list(camera_id=f"cam-{n}", limit=5)

    assert run_together(work) == []
    assert len(set(ids)) == THREADS * PER_THREAD
    assert repo.count() == THREADS * PER_THREAD
    for n in range(THREADS):
        assert repo.count(camera_id=f"cam-{n}") == PER_THREAD


def test_concurrent_writers_with_their_own_engines_lose_nothing(db: Engine, db_url: str) -> None:
    """One engine per thread, like separate worker processes sharing the database."""
    engines = [create_engine_for(db_url) for _ in range(THREADS)]
    try:

        def work(n: int) -> None:
            events = SqlEventRepo(engines[n])
            status = SqlCameraStatusRepo(engines[n])
            for i in range(PER_THREAD):
                stored = events.add(make_event(f"cam-{n}", start=timedelta(seconds=i)))
                events.update(stored)
                state = HealthState.ONLINE if i % 5 else HealthState.DEGRADED
                status.record(CameraHealth("shared-cam", state, T0 + timedelta(seconds=i), f"w{n}"))

        assert run_together(work) == []
    finally:
        for engine in engines:
            engine.dispose()
    assert SqlEventRepo(db).count() == THREADS * PER_THREAD
    [latest] = SqlCameraStatusRepo(db).latest()
    assert latest.at == T0 + timedelta(seconds=PER_THREAD - 1)
