"""SqlGovernanceStore on SQLite and PostgreSQL: round trips, the two-person rule in the schema, stop switches,
and the gate's snapshot query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from tests.support.activations import NOW, make_request

from vigie.storage import SqlGovernanceStore, StorageError
from vigie.storage.tables import Base


def test_governance_tables_match_the_migration(db: Engine) -> None:
    with db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    tables = set(inspect(db).get_table_names())
    assert {
        "governance_activations",
        "governance_activation_cameras",
        "governance_approvals",
        "governance_revocations",
        "governance_stop_switches",
        "governance_stop_log",
    } <= tables


def test_activation_round_trip(db: Engine) -> None:
    store = SqlGovernanceStore(db)
    request = make_request(camera_ids=("cam-depot", "cam-depot-2", "cam-depot"), zone_ids=("quai",))
    stored = store.add_activation(request, NOW)
    assert stored.id >= 1
    assert stored.camera_ids == ("cam-depot", "cam-depot-2")
    assert stored.zone_ids == ("quai",)
    assert stored.starts_at == request.starts_at and stored.starts_at.tzinfo is not None
    assert stored.decision_date == request.decision_date
    assert store.get_activation(stored.id) == stored
    assert store.get_activation(stored.id + 100) is None
    assert store.list_activations() == [stored]
    assert store.list_activations(ending_after=request.ends_at) == []


def test_approvals_and_revocations(db: Engine) -> None:
    store = SqlGovernanceStore(db)
    activation = store.add_activation(make_request(), NOW)
    store.add_approval(activation.id, "cli:bob", "dpo", NOW)
    with pytest.raises(StorageError):
        store.add_approval(activation.id, "cli:bob", "authority", NOW)  # same person twice: the schema refuses
    with pytest.raises(StorageError):
        store.add_approval(activation.id, "cli:dave", "dpo", NOW)  # same role twice
    store.add_approval(activation.id, "cli:carol", "authority", NOW)
    assert [(a.by, a.role) for a in store.approvals([activation.id])] == [
        ("cli:bob", "dpo"),
        ("cli:carol", "authority"),
    ]
    assert store.revocations([activation.id]) == {}
    store.add_revocation(activation.id, "cli:carol", "authority", "fin du besoin", NOW + timedelta(hours=1))
    revocation = store.revocations([activation.id])[activation.id]
    assert revocation.reason == "fin du besoin" and revocation.at == NOW + timedelta(hours=1)


def test_stop_switches_keep_state_and_history(db: Engine) -> None:
    store = SqlGovernanceStore(db)
    store.set_stop(None, engaged=True, by="cli:bob", role="dpo", reason="incident", at=NOW)
    store.set_stop("cam-depot", engaged=True, by="cli:op", role="operator", reason="test", at=NOW)
    store.set_stop(None, engaged=False, by="cli:bob", role="dpo", reason="fin", at=NOW + timedelta(minutes=5))
    current = {s.camera_id: s.engaged for s in store.stops()}
    assert current == {None: False, "cam-depot": True}
    history = store.stop_history()
    assert [(h.camera_id, h.engaged) for h in history] == [(None, False), ("cam-depot", True), (None, True)]


def test_active_rules_snapshot(db: Engine) -> None:
    store = SqlGovernanceStore(db)
    old = store.add_activation(make_request(starts_at=NOW - timedelta(days=9), ends_at=NOW - timedelta(days=1)), NOW)
    current = store.add_activation(make_request(), NOW)
    store.add_approval(current.id, "cli:bob", "dpo", NOW)
    store.add_revocation(current.id, "cli:bob", "dpo", "x", NOW)
    store.set_stop("cam-depot", engaged=True, by="cli:op", role="operator", reason="r", at=NOW)
    snapshot = store.active_rules(NOW)
    assert [a.id for a in snapshot.activations] == [current.id]
    assert old.id not in snapshot.revocations
    assert [a.by for a in snapshot.approvals] == ["cli:bob"]
    assert snapshot.revocations == {current.id: NOW}
    assert [s.camera_id for s in snapshot.stops] == ["cam-depot"]
    assert store.active_rules(NOW) == snapshot  # equal snapshots let the gate skip recompiling


def test_naive_times_are_refused(db: Engine) -> None:
    store = SqlGovernanceStore(db)
    with pytest.raises(StorageError):
        store.add_activation(make_request(), NOW.replace(tzinfo=None))
    with pytest.raises(StorageError):
        store.active_rules(NOW.replace(tzinfo=None))
