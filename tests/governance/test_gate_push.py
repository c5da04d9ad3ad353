"""Gate rules pushed, not polled (issue 16): the database's own triggers bump a governance version on every change
to the tables the gate reads; the gate re-reads its rules only when the version moved, is woken at once by
PostgreSQL's notifications, closes every module when it cannot confirm its rules, and is shared by many camera
threads."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, Executable, create_engine, delete, insert, text, update
from sqlalchemy.engine import make_url

from tests.storage.conftest import postgres_base_url
from tests.support.activations import make_request, sample_config
from tests.support.audit_sinks import ListAudit
from tests.support.clocks import Ticks
from tests.support.seals import Seals, governance_service
from tests.support.waiting import wait_for
from vigie.domain.activation import GovernanceSnapshot
from vigie.domain.actor import Actor
from vigie.governance.catalogue import load_catalogue
from vigie.governance.gate import ActivationGate, CheckedRules, GateRefusal, GateTransition
from vigie.services.governance import GovernanceService
from vigie.storage import SqlGovernanceStore, StorageError, create_engine_for, migrate
from vigie.storage.governance import GovernanceNotifications
from vigie.storage.tables import (
    ActivationCameraRow,
    ActivationRow,
    ActivationZoneRow,
    ApprovalRow,
    RevocationRow,
    StopSwitchRow,
)

CATALOGUE = load_catalogue()
CONFIG = sample_config(today=datetime.now(UTC).date())  # the gate runs in real time here
SEALS = Seals()
DPO = Actor("cli:bob", "dpo")
MAYOR = Actor("cli:carol", "authority")
OPERATOR = Actor("cli:op", "operator")


def real_now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def migrated(kind: str, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database: a SQLite file, or a fresh PostgreSQL database dropped after."""
    if kind == "sqlite":
        eng = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    base = make_url(postgres_base_url())
    name = f"vigie_t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        eng = create_engine_for(base.set(database=name).render_as_string(hide_password=False))
        try:
            migrate(eng)
            yield eng
        finally:
            eng.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with migrated(request.param, tmp_path) as eng:
        yield eng


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Engine]:
    with migrated("postgres", tmp_path) as eng:
        yield eng


class SpyStore:
    """The real store, counting what the gate reads through it; ``broken`` makes every read fail, ``hang``
    makes the version check wait (a database that does not answer)."""

    def __init__(self, store: SqlGovernanceStore) -> None:
        self.store = store
        self.snapshots = 0
        self.versions = 0
        self.broken = False
        self.hang = threading.Event()
        self.release = threading.Event()
        self._count = threading.Lock()

    def active_rules(self, now: datetime) -> GovernanceSnapshot:
        with self._count:
            self.snapshots += 1
        if self.broken:
            raise StorageError("cannot read the activation rules (sqlite:///x): disk I/O error")
        return self.store.active_rules(now)

    def governance_version(self) -> int:
        with self._count:
            self.versions += 1
        if self.broken:
            raise StorageError("cannot read the governance version (sqlite:///x): disk I/O error")
        if self.hang.is_set():
            self.release.wait(10)
        return self.store.governance_version()


def pushed_gate(
    spy: SpyStore,
    transitions: list[GateTransition | GateRefusal] | None = None,
    *,
    monotonic: Callable[[], float],
    cache_ttl_s: float = 0.25,
) -> ActivationGate:
    rules = CheckedRules(spy, CATALOGUE, CONFIG, SEALS.verifier, versions=spy, monotonic=monotonic)
    sink = transitions.append if transitions is not None else None
    return ActivationGate(rules, real_now, cache_ttl_s=cache_ttl_s, on_transition=sink, monotonic=monotonic)


def service_on(store: SqlGovernanceStore) -> GovernanceService:
    return governance_service(store, CATALOGUE, CONFIG, ListAudit(), real_now, seals=SEALS)


def requested(service: GovernanceService, camera: str = "cam-depot") -> int:
    """An activation on ``camera`` approved by the DPO only: the mayor's approval is what opens it."""
    now = real_now()
    outcome = service.request(
        make_request(now, camera_ids=(camera,), starts_at=now - timedelta(seconds=1), ends_at=now + timedelta(hours=1))
    )
    assert outcome.accepted and outcome.activation_id is not None, outcome.message
    assert service.approve(outcome.activation_id, DPO).accepted
    return outcome.activation_id


# --- the version, kept by the database -------------------------------------------------------------------------


def test_a_direct_sql_change_to_any_governed_table_moves_the_version(engine: Engine) -> None:
    """Triggers, not the application: rows written by hand (an insider at the database) move the version too."""
    store = SqlGovernanceStore(engine)
    now = real_now()
    seen = [store.governance_version()]

    def moved(statement: Executable) -> None:
        with engine.begin() as conn:
            conn.execute(statement)
        seen.append(store.governance_version())
        assert seen[-1] > seen[-2], f"the version did not move after {statement}"

    with engine.begin() as conn:
        activation_id = int(
            conn.execute(
                insert(ActivationRow)
                .values(
                    tenant="belvedere",
                    module="motion",
                    framework="site-prive",
                    decision_number="x",
                    dpia_reference="x",
                    purpose="x",
                    starts_at=now,
                    ends_at=now + timedelta(days=1),
                    requested_by="sql:mallory",
                    requested_role="dba",
                    requested_at=now,
                )
                .returning(ActivationRow.id)
            ).scalar_one()
        )
    seen.append(store.governance_version())
    assert seen[1] > seen[0]
    person = {"role": "dpo", "at": now}
    moved(insert(ActivationCameraRow).values(activation_id=activation_id, camera_id="cam-depot"))
    moved(insert(ActivationZoneRow).values(activation_id=activation_id, zone_id="quai"))
    moved(insert(ApprovalRow).values(activation_id=activation_id, approved_by="sql:mallory", **person))
    moved(insert(RevocationRow).values(activation_id=activation_id, revoked_by="sql:x", reason="x", **person))
    moved(insert(StopSwitchRow).values(scope="*", engaged=True, changed_by="sql:x", reason="x", **person))
    moved(update(ActivationRow).values(purpose="y"))
    moved(update(ActivationCameraRow).values(camera_id="cam-street"))
    moved(update(ActivationZoneRow).values(zone_id="z2"))
    moved(update(ApprovalRow).values(role="authority"))
    moved(update(RevocationRow).values(reason="y"))
    moved(update(StopSwitchRow).values(engaged=False))
    for table in (StopSwitchRow, RevocationRow, ApprovalRow, ActivationZoneRow, ActivationCameraRow, ActivationRow):
        moved(delete(table))


def test_a_missing_version_row_is_an_error_not_a_version(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM governance_version"))
    with pytest.raises(StorageError, match="governance version"):
        SqlGovernanceStore(engine).governance_version()


# --- the gate --------------------------------------------------------------------------------------------------


def test_the_gate_sees_an_approval_and_a_revocation_without_reading_the_rules_in_between(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    store = SqlGovernanceStore(engine)
    service = service_on(store)
    activation_id = requested(service)
    spy, ticks = SpyStore(store), Ticks()
    transitions: list[GateTransition | GateRefusal] = []
    gate = pushed_gate(spy, transitions, monotonic=ticks)
    for _ in range(40):  # ten seconds of frames: the version is checked, the rules are not read again
        assert not gate.allows("motion", "cam-depot", real_now())
        ticks.advance(0.25)
    assert (spy.snapshots, spy.versions) == (1, 40)
    assert service.approve(activation_id, MAYOR).accepted
    ticks.advance(0.25)  # the next check, a quarter of a second later at most
    assert gate.allows("motion", "cam-depot", real_now())
    assert spy.snapshots == 2
    assert service.revoke(activation_id, MAYOR, "fin de l'incident").accepted
    ticks.advance(0.25)
    assert not gate.allows("motion", "cam-depot", real_now())
    assert spy.snapshots == 3
    assert [(t.opened, t.reason) for t in transitions if isinstance(t, GateTransition)] == [
        (True, "started"),
        (False, "revoked"),
    ]
    engine.dispose()


def test_changes_hidden_by_dropped_triggers_are_still_read_within_the_resync_period(tmp_path: Path) -> None:
    """Someone with the database's keys drops the triggers: the full read every minute still catches up."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    store = SqlGovernanceStore(engine)
    service = service_on(store)
    activation_id = requested(service)
    spy, ticks = SpyStore(store), Ticks()
    gate = pushed_gate(spy, monotonic=ticks)
    assert not gate.allows("motion", "cam-depot", real_now())
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER governance_approvals_version_insert"))
    assert service.approve(activation_id, MAYOR).accepted
    ticks.advance(0.25)
    assert not gate.allows("motion", "cam-depot", real_now())  # the version did not move
    ticks.advance(60)
    assert gate.allows("motion", "cam-depot", real_now())
    engine.dispose()


def test_an_unreadable_database_closes_every_module_at_once(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    store = SqlGovernanceStore(engine)
    service = service_on(store)
    for camera in ("cam-depot", "cam-depot-2"):
        assert service.approve(requested(service, camera), MAYOR).accepted
    spy, ticks = SpyStore(store), Ticks()
    transitions: list[GateTransition | GateRefusal] = []
    gate = pushed_gate(spy, transitions, monotonic=ticks)
    assert gate.allows("motion", "cam-depot", real_now()) and gate.allows("motion", "cam-depot-2", real_now())
    spy.broken = True
    ticks.advance(0.25)
    assert not gate.allows("motion", "cam-depot", real_now())
    assert not gate.allows("motion", "cam-depot-2", real_now())
    closed = [(t.camera_id, t.reason) for t in transitions if isinstance(t, GateTransition) and not t.opened]
    assert closed == [("cam-depot", "rules_unavailable"), ("cam-depot-2", "rules_unavailable")]
    spy.broken = False
    ticks.advance(0.25)
    assert gate.allows("motion", "cam-depot", real_now())  # back as soon as the rules are confirmed again
    engine.dispose()


def open_gate(engine: Engine) -> tuple[SpyStore, Ticks, list[GateTransition | GateRefusal], ActivationGate]:
    """A gate on a fake monotonic clock over ``engine``, open for motion on cam-depot (approved by both)."""
    store = SqlGovernanceStore(engine)
    service = service_on(store)
    assert service.approve(requested(service), MAYOR).accepted
    spy, ticks = SpyStore(store), Ticks()
    transitions: list[GateTransition | GateRefusal] = []
    gate = pushed_gate(spy, transitions, monotonic=ticks)
    assert gate.allows("motion", "cam-depot", real_now())
    return spy, ticks, transitions, gate


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    with migrated("sqlite", tmp_path) as eng:
        yield eng


def test_a_database_that_does_not_answer_closes_every_module_within_a_second(sqlite: Engine) -> None:
    """A version check that hangs holds one thread; the other cameras go on with the confirmed rules, then close
    once they have gone a second unconfirmed."""
    spy, ticks, transitions, gate = open_gate(sqlite)
    spy.hang.set()
    ticks.advance(0.25)
    stuck = threading.Thread(target=gate.allows, args=("motion", "cam-street", real_now()))
    stuck.start()
    wait_for(lambda: spy.versions == 2, 5, "the check to hang")
    ticks.advance(0.5)  # 0.75 s since the last confirmation: still open
    assert gate.allows("motion", "cam-depot", real_now())
    ticks.advance(0.25)  # 1 s: closed, without waiting for the hung check
    assert not gate.allows("motion", "cam-depot", real_now())
    last = transitions[-1]
    assert isinstance(last, GateTransition) and (last.opened, last.reason) == (False, "rules_unavailable")
    spy.hang.clear()
    spy.release.set()
    stuck.join(5)
    assert not stuck.is_alive()
    ticks.advance(0.25)
    assert gate.allows("motion", "cam-depot", real_now())


def test_a_check_under_way_on_a_busy_host_is_waited_for_instead_of_closing_and_reopening(sqlite: Engine) -> None:
    """A thread finds the rules a second old while another thread's check is on its way (a busy host): it waits
    for that check rather than close the module and open it again at the next frame (two audit entries each time,
    for every module of every camera of the process)."""
    spy, ticks, transitions, gate = open_gate(sqlite)
    spy.hang.set()
    ticks.advance(0.9)  # a check is due: the checking thread starts it, and is held up
    checking = threading.Thread(target=gate.allows, args=("motion", "cam-street", real_now()))
    checking.start()
    wait_for(lambda: spy.versions == 2, 5, "the check to start")
    ticks.advance(0.15)  # 1.05 s since the last confirmation; the check under way started 0.15 s ago
    answer: list[bool] = []
    waiting = threading.Thread(target=lambda: answer.append(gate.allows("motion", "cam-depot", real_now())))
    waiting.start()
    waiting.join(0.1)
    assert waiting.is_alive(), "the stale thread waits for the check under way"
    spy.hang.clear()
    spy.release.set()  # the check ends: rules read 0.15 s ago
    waiting.join(5)
    checking.join(5)
    assert answer == [True]
    assert [(t.opened, t.reason) for t in transitions if isinstance(t, GateTransition)] == [(True, "started")]


def test_sixteen_camera_threads_share_one_gate_while_rules_change(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    store = SqlGovernanceStore(engine)
    service = service_on(store)
    cameras = [f"cam-{i}" for i in range(16)]
    pending = requested(service)
    spy = SpyStore(store)
    transitions: list[GateTransition | GateRefusal] = []
    gate = pushed_gate(spy, transitions, monotonic=Ticks(), cache_ttl_s=0.0)  # a check at every call
    gate.allows("motion", "cam-depot", real_now())
    spy.snapshots = spy.versions = 0
    stop = threading.Event()
    answers: list[list[bool]] = [[] for _ in cameras]
    errors: list[BaseException] = []

    def camera(index: int) -> None:
        try:
            while not stop.is_set():
                answers[index].append(gate.allows("motion", "cam-depot", real_now()))
        except BaseException as err:  # the test fails on any of them
            errors.append(err)

    threads = [threading.Thread(target=camera, args=(i,)) for i in range(len(cameras))]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: all(answers), 10, "every camera thread to ask")
        assert service.approve(pending, MAYOR).accepted
        wait_for(lambda: all(a[-1] for a in answers if a), 10, "every thread to see the approval")
        assert service.engage_stop(None, OPERATOR, "comportement anormal").accepted
        wait_for(lambda: not any(a[-1] for a in answers if a), 10, "every thread to see the stop")
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert not errors
    calls = sum(len(a) for a in answers)
    # The rules were read once per change, not once per thread; checks never ran concurrently (one checker).
    assert spy.snapshots <= 4, spy.snapshots
    assert spy.versions <= calls
    # Transitions strictly alternate: opened once, closed once by the stop.
    seen = [(t.opened, t.reason) for t in transitions if isinstance(t, GateTransition)]
    assert seen == [(True, "started"), (False, "stopped")]
    engine.dispose()


@pytest.mark.postgres
def test_a_postgresql_notification_wakes_the_gate_at_once(postgres: Engine) -> None:
    engine = postgres
    store = SqlGovernanceStore(engine)
    service = service_on(store)
    activation_id = requested(service)
    spy, ticks = SpyStore(store), Ticks()  # the gate's clock never moves: only a notification makes it check
    gate = pushed_gate(spy, monotonic=ticks, cache_ttl_s=0.9)
    assert not gate.allows("motion", "cam-depot", real_now())
    listener = GovernanceNotifications(engine, gate.wake).start()
    try:
        wait_for(lambda: listener.listening, 10, "the listener to connect")
        assert service.approve(activation_id, MAYOR).accepted
        wait_for(lambda: gate.allows("motion", "cam-depot", real_now()), 1, "the gate to open on the notification")
        assert service.revoke(activation_id, MAYOR, "fin").accepted
        wait_for(lambda: not gate.allows("motion", "cam-depot", real_now()), 1, "the gate to close on it")
    finally:
        listener.close()
    assert spy.snapshots <= 6  # one per change notified (plus the first read and the one on connecting)
