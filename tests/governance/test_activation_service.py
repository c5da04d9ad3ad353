"""GovernanceService: every call audited (refusals too), nothing written before the checks, no credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.activations import NOW, make_request, sample_config
from tests.support.audit_sinks import ListAudit
from tests.support.clocks import FakeClock
from tests.support.seals import governance_service
from vigie.domain.actor import Actor
from vigie.governance.activation import ActivationState
from vigie.governance.catalogue import load_catalogue
from vigie.services.governance import GovernanceService
from vigie.storage import SqlGovernanceStore, create_engine_for, migrate

DPO = Actor("cli:bob", "dpo")
MAYOR = Actor("cli:carol", "authority")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def parts(engine: Engine) -> tuple[GovernanceService, SqlGovernanceStore, ListAudit, FakeClock]:
    store, sink, clock = SqlGovernanceStore(engine), ListAudit(), FakeClock(NOW)
    return governance_service(store, load_catalogue(), sample_config(), sink, clock), store, sink, clock


def test_full_lifecycle_is_audited(
    parts: tuple[GovernanceService, SqlGovernanceStore, ListAudit, FakeClock],
) -> None:
    service, _store, sink, clock = parts
    outcome = service.request(make_request(starts_at=clock.now + timedelta(hours=1)))
    assert outcome.accepted and outcome.activation_id == 1
    assert service.approve(1, DPO).state is ActivationState.REQUESTED
    assert service.approve(1, MAYOR).state is ActivationState.APPROVED_PENDING_START
    clock.advance(timedelta(hours=2))
    assert service.status().active[0].activation.id == 1
    assert service.revoke(1, DPO, "fin").accepted
    assert service.status().activations[0].state is ActivationState.REVOKED
    assert sink.actions() == [
        "activation.requested",
        "activation.approved",
        "activation.approved",
        "activation.revoked",
    ]
    assert sink.records[0].actor == "cli:alice" and sink.records[0].target == "activation:1"
    assert sink.records[0].details["framework"] == "site-prive"


def test_refusals_are_audited_with_their_reasons_and_nothing_is_stored(
    parts: tuple[GovernanceService, SqlGovernanceStore, ListAudit, FakeClock],
) -> None:
    service, store, sink, _clock = parts
    outcome = service.request(make_request(module="loitering", camera_ids=("cam-street",), dpia_reference=""))
    assert not outcome.accepted
    assert store.list_activations() == []
    record = sink.records[-1]
    assert record.action == "activation.refused"
    assert {r["code"] for r in record.details["refusals"]} == {"setting_not_covered", "missing_dpia"}
    assert not service.approve(99, DPO).accepted
    assert not service.revoke(99, DPO, "x").accepted
    assert sink.actions()[-2:] == ["activation.refused", "activation.refused"]


def test_two_person_rule_through_the_service(
    parts: tuple[GovernanceService, SqlGovernanceStore, ListAudit, FakeClock],
) -> None:
    service, _store, sink, _clock = parts
    service.request(make_request())
    assert not service.approve(1, Actor("cli:alice", "dpo")).accepted
    assert service.approve(1, DPO).accepted
    assert not service.approve(1, Actor("cli:bob", "authority")).accepted
    assert not service.approve(1, Actor("cli:dave", "dpo")).accepted
    assert service.status().activations[0].state is ActivationState.REQUESTED
    assert sink.actions().count("activation.refused") == 3


def test_stops_are_audited_and_unknown_cameras_refused(
    parts: tuple[GovernanceService, SqlGovernanceStore, ListAudit, FakeClock],
) -> None:
    service, _store, sink, _clock = parts
    assert service.engage_stop("cam-depot", Actor("cli:op", "operator"), "essai").accepted
    assert not service.engage_stop("cam-nowhere", Actor("cli:op", "operator"), "typo").accepted
    assert service.engage_stop(None, Actor("cli:op", "operator"), "incident").accepted
    status = service.status()
    assert status.global_stop is not None and [s.camera_id for s in status.camera_stops] == ["cam-depot"]
    assert service.release_stop(None, DPO, "ok").accepted
    assert [(r.action, r.details["accepted"]) for r in sink.records] == [
        ("stop.engaged", True),
        ("stop.engaged", False),
        ("stop.engaged", True),
        ("stop.released", True),
    ]
    assert sink.records[0].target == "stop:camera:cam-depot"


def test_audit_details_never_carry_credentials(
    parts: tuple[GovernanceService, SqlGovernanceStore, ListAudit, FakeClock],
) -> None:
    service, _store, sink, _clock = parts
    secret = "rtsp://admin:hunter2@cam.example.invalid/s?token=abc123"
    service.request(make_request(purpose=f"voir {secret}"))
    service.request(make_request(purpose=f"voir {secret}", dpia_reference=""))
    service.revoke(1, DPO, f"fuite {secret}")
    service.engage_stop(None, Actor("cli:op", "operator"), secret)
    dumped = json.dumps([r.to_json() for r in sink.records])
    assert "hunter2" not in dumped and "abc123" not in dumped


def test_a_request_names_the_calibration_run_it_is_based_on(engine: Engine) -> None:
    """L32: the on-site calibration run (``vigie calibrate``'s audit entry) can be attached to a request; it must be
    a calibration of the same module, on a camera the request covers; it is sealed and audited with the request."""
    from vigie.domain.audit import GENESIS_HASH, AuditAction, AuditEvent, seal

    def calibration(seq: int, module: str, camera: str | None) -> object:
        details = {"module": module, **({"camera": camera} if camera else {})}
        return seal(seq, AuditEvent("sam", AuditAction.ANALYSIS_CALIBRATION, "x", details), NOW, GENESIS_HASH)

    entries = {
        3: calibration(3, "motion", "cam-depot"),
        4: calibration(4, "intrusion", "cam-depot"),
        5: calibration(5, "motion", "cam-street"),
        6: seal(6, AuditEvent("x", AuditAction.PLAYBACK, "camera:cam-depot", {}), NOW, GENESIS_HASH),
    }
    store, sink, clock = SqlGovernanceStore(engine), ListAudit(), FakeClock(NOW)
    service = governance_service(store, load_catalogue(), sample_config(), sink, clock, audit_entry=entries.get)
    codes = {
        seq: [r.code for r in service.request(make_request(calibration_seq=seq)).refusals] for seq in (4, 5, 6, 99)
    }
    assert codes == {
        4: ["calibration_of_other_module"],
        5: ["calibration_of_other_camera"],
        6: ["unknown_calibration"],
        99: ["unknown_calibration"],
    }
    outcome = service.request(make_request(calibration_seq=3))
    assert outcome.accepted
    assert store.get_activation(outcome.activation_id or 0).calibration_seq == 3  # type: ignore[union-attr]
    assert sink.records[-1].details["calibration_seq"] == 3
