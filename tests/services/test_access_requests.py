"""The access-request service's copies as jobs and its purge, on real SQL storage and a test double of the copy
maker (tests/support/copy_maker.py): a copy whose process died is failed by the next look, never left preparing;
a copy that ends after its request moved on (refused, or failed by another process) writes nothing; a stop fails
the copies waiting; the purge erases the requester's personal data and the copies of requests ended long enough
ago, and nothing else."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.recording.export_samples import ListAuditSink
from tests.support.clocks import FakeClock
from tests.support.copy_maker import FakeCopyMaker
from tests.support.waiting import wait_for
from vigie.domain.access_requests import AccessRequest, AccessRequestState, IdentityDocument, RefusalReason
from vigie.domain.audit import AuditAction
from vigie.domain.users import Role, User
from vigie.services.access import CommuneInfo, Directory, Principal
from vigie.services.access_requests import STOPPED, AccessRequestService
from vigie.storage import create_engine_for, migrate
from vigie.storage.access_requests import SqlAccessRequestStore

DIRECTORY = Directory(
    communes=(CommuneInfo("villeurbanne", "Villeurbanne", "municipal"),),
    camera_commune={"vil-1": "villeurbanne", "vil-2": "villeurbanne"},
)


def principal(name: str) -> Principal:
    return Principal(
        User(name, name, "villeurbanne", frozenset({Role.DPO}), "x", id=1), frozenset({"villeurbanne"}), DIRECTORY, None
    )


DPO, SECOND = principal("dpo.a"), principal("dpo.b")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def service_of(
    engine: Engine, clock: FakeClock, tmp_path: Path, maker: FakeCopyMaker, audit: ListAuditSink | None = None
) -> AccessRequestService:
    return AccessRequestService(
        SqlAccessRequestStore(engine), audit or ListAuditSink(), clock, tmp_path / "work", maker
    )


def scoped(service: AccessRequestService, clock: FakeClock) -> AccessRequest:
    today = clock().date()
    request = service.create(
        DPO,
        requester_name="Camille",
        requester_contact="camille@example.org",
        identity_document=IdentityDocument.PASSPORT,
        identity_checked_by="Agent Dupont",
        received_on=today - timedelta(days=1),
        description="veste rouge",
    )
    end = clock() - timedelta(hours=1)
    return service.set_scope(DPO, request.id or 0, ["vil-1"], end - timedelta(minutes=10), end)


def test_a_copy_left_preparing_by_a_dead_process_is_failed_at_the_next_look(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    audit = ListAuditSink()
    service = service_of(engine, clock, tmp_path, FakeCopyMaker(), audit)
    store = SqlAccessRequestStore(engine)
    dead = subprocess.Popen(["true"])  # a process of this host that is gone
    dead.wait()
    killed = scoped(service, clock)
    alive = scoped(service, clock)
    silent = scoped(service, clock)

    def left(request: AccessRequest, runner: str, heartbeat_ago: timedelta) -> None:
        preparing = replace(
            request,
            state=AccessRequestState.PREPARING,
            progress=(3, 50),
            copies=1,
            runner=runner,
            heartbeat_at=clock() - heartbeat_ago,
            prepared_by="dpo.a",
        )
        assert store.save(preparing, if_states=frozenset({AccessRequestState.RECEIVED}))

    left(killed, f"{socket.gethostname()}:{dead.pid}:dead0001", timedelta(seconds=2))
    left(alive, "other-host:4343:alive001", timedelta(seconds=2))
    left(silent, "other-host:4242:silent01", timedelta(minutes=5))

    assert service.fail_abandoned() == 2
    for request in (killed, silent):
        read = service.get_for(DPO, request.id or 0)
        assert read.state is AccessRequestState.RECEIVED and read.copy_error == STOPPED and read.progress is None
    assert service.get_for(DPO, alive.id or 0).state is AccessRequestState.PREPARING  # still saying it is alive
    assert service.fail_abandoned() == 0  # failed once, audited once
    finished = [e for e in audit.events if e.action is AuditAction.ACCESS_REQUEST_COPY_FINISHED]
    assert sorted(e.details["request_id"] for e in finished) == sorted([killed.id or 0, silent.id or 0])
    assert {e.details["outcome"] for e in finished} == {"failed"}

    clock.advance(timedelta(minutes=2))  # the other host has said nothing since: failed when read
    assert service.get_for(DPO, alive.id or 0).copy_error == STOPPED
    assert [r.state for r in service.list_for(DPO)] == [AccessRequestState.RECEIVED] * 3


def test_a_copy_finishing_after_its_request_was_refused_writes_nothing(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    maker = FakeCopyMaker(hold=threading.Event())
    service = service_of(engine, clock, tmp_path, maker)
    request = scoped(service, clock)
    service.prepare_copy(DPO, request.id or 0)
    assert maker.started.wait(10)
    refused = service.refuse(SECOND, request.id or 0, reason=RefusalReason.PUBLIC_SECURITY, explanation="enquête")
    assert refused.state is AccessRequestState.REFUSED
    maker.hold.set()  # type: ignore[union-attr]
    wait_for(lambda: service.copies is not None and service.copies.idle, 10, "the copy to end")
    read = service.get_for(DPO, request.id or 0)
    assert read.state is AccessRequestState.REFUSED and read.copy is None
    assert not list((tmp_path / "work" / "access-requests" / str(request.id) / "copy-1").glob("*.mp4"))
    service.close()


def test_a_stop_fails_the_copies_waiting(engine: Engine, clock: FakeClock, tmp_path: Path) -> None:
    maker = FakeCopyMaker(hold=threading.Event())
    service = service_of(engine, clock, tmp_path, maker)
    first, second = scoped(service, clock), scoped(service, clock)
    service.prepare_copy(DPO, first.id or 0)
    assert maker.started.wait(10)
    service.prepare_copy(DPO, second.id or 0)
    service.close()
    waiting = SqlAccessRequestStore(engine).get(second.id or 0)
    assert waiting is not None and waiting.state is AccessRequestState.RECEIVED
    assert waiting.copy_error == "the server stopped before the copy was started: prepare it again"
    maker.hold.set()  # type: ignore[union-attr]
    wait_for(lambda: (r := SqlAccessRequestStore(engine).get(first.id or 0)) and r.copy_error, 10, "the first fails")


def test_the_purge_erases_personal_data_and_copies_of_requests_ended_long_ago(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    audit = ListAuditSink()
    service = service_of(engine, clock, tmp_path, FakeCopyMaker(), audit)
    released = scoped(service, clock)
    service.prepare_copy(DPO, released.id or 0)
    wait_for(lambda: service.get_for(DPO, released.id or 0).copy, 10, "the copy")
    service.review(SECOND, released.id or 0, approved=True, frames_reviewed=25)
    service.release(DPO, released.id or 0)
    folder = tmp_path / "work" / "access-requests" / str(released.id)
    assert (folder / "package").is_dir() and (folder / "copy-1").is_dir()
    refused = scoped(service, clock)
    service.refuse(DPO, refused.id or 0, reason=RefusalReason.NO_FOOTAGE, explanation="rien")
    open_one = scoped(service, clock)

    clock.advance(timedelta(days=364))
    assert service.purge() == 0
    clock.advance(timedelta(days=2))
    assert service.purge() == 2
    assert not folder.exists()
    for request_id in (released.id, refused.id):
        erased = service.get_for(DPO, request_id or 0)
        assert (erased.requester_name, erased.requester_contact, erased.description) == ("", "", "")
        assert erased.erased_at == clock() and erased.state in {AccessRequestState.RELEASED, AccessRequestState.REFUSED}
    kept = service.get_for(DPO, open_one.id or 0)
    assert kept.requester_name == "Camille" and kept.erased_at is None
    assert service.purge() == 0  # erased once
    erasures = [e for e in audit.events if e.action is AuditAction.ACCESS_REQUEST_ERASED]
    assert len(erasures) == 1 and sorted(erasures[0].details["request_ids"]) == sorted(
        [released.id or 0, refused.id or 0]
    )
