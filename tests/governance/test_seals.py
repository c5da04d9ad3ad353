"""Rows written around the governance service open nothing (issue #14, D2; D1 on the service side).

The defect: inserting an activation, its camera and two approval rows with ``sqlite3`` opened the gate within 3 s,
with no ``activation.requested``/``approved`` entry. Here the production wiring (``open_governance`` for the
service, ``DatabaseGateFactory`` for the workers' gate, the installation's audit key in the data folder) refuses
such rows, says why, and reports them for the audit; an activation recorded and approved through the service by
real accounts opens the gate, and stops opening it as soon as one of its rows is altered.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from tests.support.activations import NOW, make_request, sample_config
from tests.support.audit_sinks import ListAudit
from tests.support.clocks import FakeClock
from tests.support.seals import Seals
from vigie.config.models import VigieConfig
from vigie.domain.activation import ActivationRequest, Approval
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction
from vigie.domain.users import Role, User
from vigie.governance.activation import ActivationState
from vigie.governance.gate import GateRefusal, GateTransition, refusal_event
from vigie.governance.seal import activation_payload, approval_payload
from vigie.runtime.assembly.gates import DatabaseGateFactory
from vigie.runtime.assembly.governance import open_governance
from vigie.services.governance_access import GovernanceAccess
from vigie.storage import SqlGovernanceStore, SqlUserRepo, create_engine_for, migrate

DPO = Actor("bob", "dpo")
MAYOR = Actor("carol", "authority")
START = NOW + timedelta(minutes=1)


@pytest.fixture
def config(tmp_path: Path) -> VigieConfig:
    storage = f"storage:\n  database_url: sqlite:///{tmp_path / 'vigie.db'}\n  data_dir: {tmp_path / 'data'}\n"
    return sample_config(storage)


@pytest.fixture
def engine(config: VigieConfig) -> Iterator[Engine]:
    eng = create_engine_for(config.storage.database_url)
    migrate(eng)
    users = SqlUserRepo(eng)
    for name, roles in {
        "alice": {Role.SUPERVISOR},
        "bob": {Role.DPO},
        "carol": {Role.AUTHORITY},
        "olga": {Role.OPERATOR},
        "gone": {Role.DPO},
    }.items():
        users.add(User(name, name.title(), "belvedere", frozenset(roles), "x", created_at=NOW, disabled=name == "gone"))
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def governance(config: VigieConfig, engine: Engine, clock: FakeClock) -> GovernanceAccess:
    return open_governance(config, engine, ListAudit(), clock)


def gate_events(config: VigieConfig, clock: FakeClock) -> tuple[object, list[GateTransition | GateRefusal]]:
    events: list[GateTransition | GateRefusal] = []
    gate = DatabaseGateFactory(config, clock=clock)(events.append)
    return gate, events


def alice_request() -> ActivationRequest:
    return make_request(starts_at=START, requested_by="alice", requested_role="supervisor")


def request_and_approve(governance: GovernanceAccess) -> int:
    outcome = governance.service.request(alice_request())
    assert outcome.accepted, outcome.message
    assert outcome.activation_id is not None
    assert governance.service.approve(outcome.activation_id, DPO).accepted
    assert governance.service.approve(outcome.activation_id, MAYOR).accepted
    return outcome.activation_id


def forge_rows(database: Path, *, seal: str = "") -> int:
    """What the insider did: an activation, its camera and two approvals typed into the database."""
    start, end = (NOW - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f"), "2099-01-01 00:00:00.000000"
    with sqlite3.connect(database) as db:
        cursor = db.execute(
            "INSERT INTO governance_activations (tenant, module, framework, decision_number, decision_date, "
            "dpia_reference, purpose, starts_at, ends_at, requested_by, requested_role, requested_at, seal) "
            "VALUES ('belvedere', 'motion', 'site-prive', '2026-PREF-1', ?, 'AIPD-1', 'x', ?, ?, 'alice', "
            "'supervisor', ?, ?)",
            ((NOW.date() - timedelta(days=9)).isoformat(), start, end, start, seal),
        )
        activation_id = int(cursor.lastrowid or 0)
        db.execute(
            "INSERT INTO governance_activation_cameras (activation_id, camera_id) VALUES (?, 'cam-depot')",
            (activation_id,),
        )
        for by, role in (("bob", "dpo"), ("carol", "authority")):
            db.execute(
                "INSERT INTO governance_approvals (activation_id, approved_by, role, at, seal) VALUES (?, ?, ?, ?, ?)",
                (activation_id, by, role, start, seal),
            )
    return activation_id


def database_of(config: VigieConfig) -> Path:
    return Path(config.storage.database_url.removeprefix("sqlite:///"))


def test_rows_typed_into_the_database_open_nothing_and_are_reported(
    config: VigieConfig, engine: Engine, governance: GovernanceAccess, clock: FakeClock
) -> None:
    forged = forge_rows(database_of(config), seal="0123456789abcdef:bm90IGEgc2lnbmF0dXJl")
    gate, events = gate_events(config, clock)
    assert not gate.allows("motion", "cam-depot", NOW)  # type: ignore[attr-defined]
    refusals = [e for e in events if isinstance(e, GateRefusal)]
    assert [r.activation_id for r in refusals] == [forged]
    assert "seal" in refusals[0].reason
    event = refusal_event(refusals[0])
    assert event.action == AuditAction.ACTIVATION_UNVERIFIED and event.target == f"activation:{forged}"
    status = {s.activation.id: s for s in governance.service.status().activations}
    assert status[forged].state is ActivationState.UNVERIFIED and status[forged].unverified
    # Nor can the forged activation be completed through the service.
    assert not governance.service.approve(forged, Actor("bob", "dpo")).accepted


def test_an_activation_recorded_through_the_service_opens_the_gate(
    config: VigieConfig, engine: Engine, governance: GovernanceAccess, clock: FakeClock
) -> None:
    activation_id = request_and_approve(governance)
    gate, events = gate_events(config, clock)
    clock.advance(minutes=2)
    assert gate.allows("motion", "cam-depot", clock())  # type: ignore[attr-defined]
    assert [e.activation_id for e in events if isinstance(e, GateTransition) and e.opened] == [activation_id]
    assert not [e for e in events if isinstance(e, GateRefusal)]


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE governance_activations SET ends_at = '2099-01-01 00:00:00.000000'",
        "INSERT INTO governance_activation_cameras (activation_id, camera_id) VALUES (1, 'cam-depot-2')",
        "UPDATE governance_approvals SET approved_by = 'alice' WHERE role = 'dpo'",
        "UPDATE governance_activations SET purpose = 'autre chose'",
    ],
)
def test_a_sealed_activation_altered_in_the_database_stops(
    config: VigieConfig, engine: Engine, governance: GovernanceAccess, clock: FakeClock, tamper: str
) -> None:
    request_and_approve(governance)
    clock.advance(minutes=2)
    with sqlite3.connect(database_of(config)) as db:
        db.execute(tamper)
    gate, events = gate_events(config, clock)
    assert not gate.allows("motion", "cam-depot", clock())  # type: ignore[attr-defined]
    assert not gate.allows("motion", "cam-depot-2", clock())  # type: ignore[attr-defined]
    assert [e.activation_id for e in events if isinstance(e, GateRefusal)] == [1]


def test_approvals_moved_from_another_activation_do_not_count(
    config: VigieConfig, engine: Engine, governance: GovernanceAccess, clock: FakeClock
) -> None:
    approved = request_and_approve(governance)
    pending = governance.service.request(
        make_request(starts_at=START, camera_ids=("cam-depot-2",), requested_by="alice", requested_role="supervisor")
    ).activation_id
    with sqlite3.connect(database_of(config)) as db:
        db.execute("UPDATE governance_approvals SET activation_id = ? WHERE activation_id = ?", (pending, approved))
    clock.advance(minutes=2)
    gate, _events = gate_events(config, clock)
    assert not gate.allows("motion", "cam-depot-2", clock())  # type: ignore[attr-defined]


def test_rows_sealed_with_a_key_that_is_not_the_installations_are_refused(
    config: VigieConfig, engine: Engine, clock: FakeClock
) -> None:
    foreign = Seals()
    store = SqlGovernanceStore(engine)
    request = make_request(starts_at=NOW - timedelta(hours=1), requested_by="alice", requested_role="supervisor")
    activation = store.add_activation(request, NOW, lambda a: foreign.sealer.seal(activation_payload(a)))
    for actor in (DPO, MAYOR):
        approval = Approval(activation.id, actor.name, actor.role, NOW)
        store.add_approval(
            activation.id, actor.name, actor.role, NOW, foreign.sealer.seal(approval_payload(approval, activation.seal))
        )
    gate, events = gate_events(config, clock)
    assert not gate.allows("motion", "cam-depot", NOW)  # type: ignore[attr-defined]
    assert [e.activation_id for e in events if isinstance(e, GateRefusal)] == [activation.id]


@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (Actor("Fictional Person One", "dpo"), "unknown_account"),
        (Actor("olga", "authority"), "role_not_held"),
        (Actor("gone", "dpo"), "unknown_account"),
    ],
)
def test_approvers_are_active_accounts_holding_the_role(governance: GovernanceAccess, actor: Actor, code: str) -> None:
    outcome = governance.service.request(alice_request())
    assert outcome.activation_id is not None
    refused = governance.service.approve(outcome.activation_id, actor)
    assert not refused.accepted and code in [r.code for r in refused.refusals]


def test_a_request_in_a_free_name_or_a_role_not_held_is_refused(governance: GovernanceAccess) -> None:
    for by, role in (("Someone Else", "supervisor"), ("olga", "supervisor")):
        outcome = governance.service.request(make_request(starts_at=START, requested_by=by, requested_role=role))
        assert not outcome.accepted
        assert {"unknown_account", "role_not_held"} & {r.code for r in outcome.refusals}


def test_seals_survive_the_round_trip_through_the_database(governance: GovernanceAccess) -> None:
    """Times written in another zone, read back in UTC, still verify (the seal covers instants, not spellings)."""
    paris = NOW.astimezone(ZoneInfo("Europe/Paris"))
    outcome = governance.service.request(
        make_request(
            starts_at=paris + timedelta(minutes=1),
            ends_at=paris + timedelta(days=2),
            decision_date=date(2026, 2, 20),
            requested_by="alice",
            requested_role="supervisor",
        )
    )
    assert outcome.accepted, outcome.message
    status = governance.service.status().activations[0]
    assert status.unverified is None and status.state is ActivationState.REQUESTED
