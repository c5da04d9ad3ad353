"""What API processes share through the database (issue 17): a pending sign-on is taken once, even by two
processes at the same time; export jobs change only while they are active, a cancellation is never lost to a
progress write, and a process's heartbeat touches its own active jobs only. Both backends."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from vigie.domain.export_jobs import StoredExportJob
from vigie.domain.sign_on import PendingSignOn
from vigie.storage.export_jobs import SqlExportJobs
from vigie.storage.login_failures import SqlNameFailures
from vigie.storage.sign_ons import SqlPendingSignOns

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_a_pending_sign_on_is_taken_once_even_by_two_processes_at_once(db: Engine) -> None:
    pending = SqlPendingSignOns(db)
    for attempt in range(5):
        key = f"{attempt:064x}"
        pending.put(key, PendingSignOn("state", "nonce", "verifier", "https://vigie/cb", T0))
        taken: list[PendingSignOn | None] = []
        start = threading.Barrier(2)

        def take(key: str = key) -> None:
            start.wait()
            taken.append(pending.take(key))

        threads = [threading.Thread(target=take) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert sorted(t is None for t in taken) == [False, True], attempt
        found = next(t for t in taken if t is not None)
        assert found == PendingSignOn("state", "nonce", "verifier", "https://vigie/cb", T0)


def test_expired_sign_ons_are_forgotten(db: Engine) -> None:
    pending = SqlPendingSignOns(db)
    pending.put("a" * 64, PendingSignOn("s", "n", "v", "https://vigie/cb", T0))
    pending.put("b" * 64, PendingSignOn("s", "n", "v", "https://vigie/cb", T0 + timedelta(minutes=11)))
    assert pending.forget_before(T0 + timedelta(minutes=1)) == 1
    assert pending.take("a" * 64) is None and pending.take("b" * 64) is not None


def job(job_id: str, *, runner: str = "host:1:aa", state: str = "queued", at: datetime = T0) -> StoredExportJob:
    return StoredExportJob(job_id, "inv.test", state, 0.0, at, runner, at, False, {"camera_ids": ["cam-1"]})


def test_export_jobs_change_only_while_active_and_keep_their_cancellation(db: Engine) -> None:
    jobs = SqlExportJobs(db)
    jobs.add(job("1" * 32))
    jobs.add(job("2" * 32, at=T0 + timedelta(seconds=1)))
    assert [j.id for j in jobs.owned_by("inv.test")] == ["2" * 32, "1" * 32], "newest first"
    assert jobs.request_cancel("1" * 32)
    running = replace(job("1" * 32, state="running"), progress=0.5)
    assert jobs.save(running, if_state=["queued", "running"])
    stored = jobs.get("1" * 32)
    assert stored is not None and stored.progress == 0.5 and stored.cancel_requested, "a progress write keeps it"
    assert jobs.save(replace(running, state="failed"), if_state=["queued", "running"])
    assert not jobs.save(replace(running, state="done"), if_state=["queued", "running"]), "a failed job stays so"
    assert not jobs.request_cancel("1" * 32), "nothing left to cancel"
    assert [j.id for j in jobs.active()] == ["2" * 32] and jobs.finished_ids() == ["1" * 32]
    jobs.forget(["1" * 32])
    assert jobs.get("1" * 32) is None


def test_a_heartbeat_touches_its_own_active_jobs_only(db: Engine) -> None:
    jobs = SqlExportJobs(db)
    jobs.add(job("1" * 32, runner="a"))
    jobs.add(job("2" * 32, runner="b"))
    jobs.add(job("3" * 32, runner="a", state="done"))
    jobs.beat("a", T0 + timedelta(minutes=1))
    beats = {j: (jobs.get(j * 32) or job("x")).heartbeat_at for j in "123"}
    assert beats == {"1": T0 + timedelta(minutes=1), "2": T0, "3": T0}


def test_failed_logins_of_unknown_names_are_counted_and_forgotten(db: Engine) -> None:
    names = SqlNameFailures(db)
    assert names.get("k" * 64) is None
    names.put("k" * 64, 1, T0)
    names.put("k" * 64, 2, T0 + timedelta(seconds=30))
    assert names.get("k" * 64) == (2, T0 + timedelta(seconds=30))
    assert names.forget_before(T0 + timedelta(hours=1)) == 1
    assert names.get("k" * 64) is None
