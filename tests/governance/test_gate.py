"""The activation gate: nothing runs without a valid activation, and a module stops within a second of its
expiry, its revocation or a stop switch — measured with real time, through the real SQL store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, insert

from tests.support.activations import NOW, make_request, sample_config
from tests.support.audit_sinks import ListAudit
from tests.support.clocks import Ticks
from tests.support.seals import Seals, governance_service
from vigie.analytics.detect.motion import MotionDetector
from vigie.analytics.pipeline import MotionPipeline
from vigie.config import ConfigError
from vigie.domain.activation import Approval
from vigie.domain.actor import Actor
from vigie.governance.catalogue import load_catalogue
from vigie.governance.gate import ActivationGate, CheckedRules, GateTransition, transition_event
from vigie.governance.seal import activation_payload, approval_payload
from vigie.services.governance import GovernanceService
from vigie.storage import SqlGovernanceStore, create_engine_for, migrate
from vigie.storage.tables import ActivationCameraRow, ActivationRow

CATALOGUE = load_catalogue()
CONFIG = sample_config(today=datetime.now(UTC).date())  # the gate runs in real time here
FRAME = np.zeros((120, 160), dtype=np.uint8)
SEALS = Seals()
DPO = Actor("cli:bob", "dpo")
MAYOR = Actor("cli:carol", "authority")


def real_now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def store(engine: Engine) -> SqlGovernanceStore:
    return SqlGovernanceStore(engine)


@pytest.fixture
def service(store: SqlGovernanceStore) -> GovernanceService:
    return governance_service(store, CATALOGUE, CONFIG, ListAudit(), real_now, seals=SEALS)


def make_gate(
    store: SqlGovernanceStore,
    transitions: list[GateTransition] | None = None,
    clock: Callable[[], datetime] = real_now,
    monotonic: Callable[[], float] = time.monotonic,
) -> ActivationGate:
    sink = transitions.append if transitions is not None else None
    return ActivationGate(
        CheckedRules(store, CATALOGUE, CONFIG, SEALS.verifier), clock, on_transition=sink, monotonic=monotonic
    )


def activate(service: GovernanceService, **changes: object) -> int:
    now = real_now()
    outcome = service.request(
        make_request(now, starts_at=now - timedelta(seconds=1), ends_at=now + timedelta(hours=1), **changes)
    )
    assert outcome.accepted, outcome.message
    assert outcome.activation_id is not None
    assert service.approve(outcome.activation_id, DPO).accepted
    assert service.approve(outcome.activation_id, MAYOR).accepted
    return outcome.activation_id


def seconds_until_refused(pipeline: MotionPipeline, deadline_s: float = 3.0) -> float:
    """Process frames at ~200 fps (real time) until the gate refuses one; return the elapsed seconds."""
    start = time.monotonic()
    refused = pipeline.frames_refused
    while time.monotonic() - start < deadline_s:
        pipeline.process(FRAME, real_now())
        if pipeline.frames_refused > refused:
            return time.monotonic() - start
        time.sleep(0.005)
    raise AssertionError(f"the module still ran {deadline_s} s later")


def test_no_frame_is_processed_without_a_valid_activation(
    store: SqlGovernanceStore, service: GovernanceService
) -> None:
    ticks = Ticks()  # the rules cache ages when told, not by sleeping
    pipeline = MotionPipeline("cam-depot", MotionDetector(), make_gate(store, monotonic=ticks))
    for _ in range(5):
        pipeline.process(FRAME, real_now())
    assert (pipeline.frames_analysed, pipeline.frames_refused) == (0, 5)
    now = real_now()
    outcome = service.request(make_request(now, starts_at=now - timedelta(seconds=1), ends_at=now + timedelta(hours=1)))
    assert outcome.activation_id is not None
    assert service.approve(outcome.activation_id, DPO).accepted  # one approval is not enough
    ticks.advance(0.3)
    pipeline.process(FRAME, real_now())
    assert pipeline.frames_analysed == 0
    assert service.approve(outcome.activation_id, MAYOR).accepted
    ticks.advance(0.3)
    pipeline.process(FRAME, real_now())
    assert pipeline.frames_analysed == 1
    other = MotionPipeline("cam-depot-2", MotionDetector(), make_gate(store))  # not in the perimeter
    other.process(FRAME, real_now())
    assert other.frames_analysed == 0


def test_stops_within_a_second_of_expiry(store: SqlGovernanceStore, service: GovernanceService) -> None:
    transitions: list[GateTransition] = []
    pipeline = MotionPipeline("cam-depot", MotionDetector(), make_gate(store, transitions))
    now = real_now()
    outcome = service.request(
        make_request(now, starts_at=now - timedelta(seconds=1), ends_at=now + timedelta(seconds=0.8))
    )
    assert outcome.activation_id is not None
    service.approve(outcome.activation_id, DPO)
    service.approve(outcome.activation_id, MAYOR)
    end = now + timedelta(seconds=0.8)
    pipeline.process(FRAME, real_now())
    assert pipeline.frames_analysed == 1
    seconds_until_refused(pipeline)
    late = (real_now() - end).total_seconds()
    assert late < 1.0
    assert (transitions[0].opened, transitions[0].reason) == (True, "started")
    assert_closed_for(pipeline, transitions, "expired")


def test_stops_within_a_second_of_a_revocation_from_another_thread(
    store: SqlGovernanceStore, service: GovernanceService
) -> None:
    transitions: list[GateTransition] = []
    activation_id = activate(service)
    pipeline = MotionPipeline("cam-depot", MotionDetector(), make_gate(store, transitions))
    pipeline.process(FRAME, real_now())
    assert pipeline.frames_analysed == 1
    revoked = threading.Event()

    def revoke() -> None:
        time.sleep(0.2)
        assert service.revoke(activation_id, MAYOR, "fin de l'incident").accepted
        revoked.set()

    thread = threading.Thread(target=revoke)
    thread.start()
    seconds_until_refused(pipeline)
    thread.join()
    assert revoked.is_set()
    assert_closed_for(pipeline, transitions, "revoked", activation_id)


def assert_closed_for(
    pipeline: MotionPipeline, transitions: list[GateTransition], reason: str, activation_id: int | None = None
) -> None:
    """The last close names ``reason`` — or, on a host so loaded that the rules read while the change was being
    written failed or outlived the confirmation deadline, the gate's fail-closed ``rules_unavailable`` (the stop
    still came within the second, which is what these tests measure; test_gate_push.py checks the reasons on a
    fake clock, where they cannot vary). Then the rules, read again, keep the module closed."""
    last = transitions[-1]
    assert not last.opened
    assert activation_id is None or last.activation_id == activation_id
    assert last.reason in (reason, "rules_unavailable"), last.reason
    if last.reason == "rules_unavailable":
        analysed = pipeline.frames_analysed
        time.sleep(0.3)
        pipeline.process(FRAME, real_now())
        assert pipeline.frames_analysed == analysed, f"the rules, read again, hold the change ({reason}): still closed"


@pytest.mark.parametrize("camera", ["cam-depot", None], ids=["camera", "global"])
def test_stops_within_a_second_of_a_stop_switch(
    store: SqlGovernanceStore, service: GovernanceService, camera: str | None
) -> None:
    transitions: list[GateTransition] = []
    activate(service)
    pipeline = MotionPipeline("cam-depot", MotionDetector(), make_gate(store, transitions))
    pipeline.process(FRAME, real_now())
    engaged_at: list[float] = []

    def engage() -> None:
        time.sleep(0.2)
        assert service.engage_stop(camera, Actor("cli:op", "operator"), "comportement anormal").accepted
        engaged_at.append(time.monotonic())

    thread = threading.Thread(target=engage)
    thread.start()
    seconds_until_refused(pipeline)
    refused_at = time.monotonic()
    thread.join()
    assert refused_at - engaged_at[0] < 1.0
    assert_closed_for(pipeline, transitions, "stopped")
    assert not service.release_stop(camera, Actor("cli:op", "operator"), "fini").accepted  # operators cannot
    assert service.release_stop(camera, DPO, "vérifié").accepted
    time.sleep(0.3)
    pipeline.process(FRAME, real_now())
    assert transitions[-1].opened


def test_expiry_is_exact_even_inside_the_cache(store: SqlGovernanceStore, service: GovernanceService) -> None:
    activation_id = activate(service)
    end = store.get_activation(activation_id).ends_at  # type: ignore[union-attr]
    gate = ActivationGate(CheckedRules(store, CATALOGUE, CONFIG, SEALS.verifier), real_now, cache_ttl_s=0.9)
    assert gate.allows("motion", "cam-depot", end - timedelta(microseconds=1))
    assert not gate.allows("motion", "cam-depot", end)
    assert not gate.allows("tracking", "cam-depot", real_now())


def test_transition_events_have_the_shape_the_report_reads() -> None:
    event = transition_event(GateTransition("motion", "cam-depot", True, 7, "started", real_now()))
    assert event.action == "gate.opened"
    assert dict(event.details) == {
        "module": "motion",
        "camera_id": "cam-depot",
        "activation_id": "7",
        "reason": "started",
    }


# --- no bypass ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    ["analysis: {force: true}\n", "governance: {bypass: true}\n", "gate: open\n"],
)
def test_config_cannot_force_or_bypass(extra: str) -> None:
    with pytest.raises(ConfigError):
        sample_config(extra)


def test_a_camera_cannot_force_its_analysis() -> None:
    text = sample_config().model_dump(mode="json")
    text["communes"][0]["sites"][0]["cameras"][0]["analysis"]["force"] = True
    with pytest.raises(ValueError, match="force"):
        type(sample_config()).model_validate(text)


def _insert_raw_activation(engine: Engine, *, framework: str, module: str, now: datetime, ends_at: datetime) -> int:
    with engine.begin() as conn:
        result = conn.execute(
            insert(ActivationRow).values(
                tenant="belvedere",
                module=module,
                framework=framework,
                decision_number="x",
                decision_date=(now - timedelta(days=30)).date(),
                dpia_reference="x",
                purpose="x",
                starts_at=now - timedelta(days=1),
                ends_at=ends_at,
                requested_by="cli:mallory",
                requested_role="operator",
                requested_at=now,
            )
        )
        activation_id = int(result.inserted_primary_key[0])
        conn.execute(insert(ActivationCameraRow).values(activation_id=activation_id, camera_id="cam-transit"))
    return activation_id


def test_a_row_written_straight_into_the_database_without_approvals_opens_nothing(
    engine: Engine, store: SqlGovernanceStore
) -> None:
    now = real_now()
    _insert_raw_activation(
        engine, framework="detection-mouvement", module="motion", now=now, ends_at=now + timedelta(days=1)
    )
    assert not make_gate(store).allows("motion", "cam-transit", real_now())


def _sealed_rows(store: SqlGovernanceStore, *, framework: str, ends_at: datetime) -> int:
    """Rows the service would have sealed, written without its checks (the framework's end is not checked)."""
    request = make_request(
        NOW,
        module="intrusion",
        camera_ids=("cam-transit",),
        framework=framework,
        starts_at=NOW - timedelta(days=1),
        ends_at=ends_at,
    )
    activation = store.add_activation(request, NOW, lambda a: SEALS.sealer.seal(activation_payload(a)))
    for by, role in (("cli:bob", "dpo"), ("cli:carol", "authority")):
        seal = SEALS.sealer.seal(approval_payload(Approval(activation.id, by, role, NOW), activation.seal))
        store.add_approval(activation.id, by, role, NOW, seal)
    return activation.id


def test_a_framework_past_its_end_date_opens_nothing_even_if_an_activation_says_so(store: SqlGovernanceStore) -> None:
    # At NOW the first experiment has ended and its prolongation is in force: a fixed clock, not the calendar's.
    _sealed_rows(store, framework="loi-2023-380-art10", ends_at=NOW + timedelta(days=365))
    assert not make_gate(store, clock=lambda: NOW).allows("intrusion", "cam-transit", NOW)
    # The same rows under a framework in force do open it: the framework's end is what closes it.
    _sealed_rows(store, framework="loi-2023-380-art10-prolongation-2027", ends_at=NOW + timedelta(days=1))
    assert make_gate(store, clock=lambda: NOW).allows("intrusion", "cam-transit", NOW)


def test_environment_variables_have_no_effect(monkeypatch: pytest.MonkeyPatch, store: SqlGovernanceStore) -> None:
    for name in ("VIGIE_GATE", "VIGIE_BYPASS", "VIGIE_GOVERNANCE__BYPASS", "VIGIE_FORCE_ANALYSIS", "VIGIE_DEMO"):
        monkeypatch.setenv(name, "1")
    assert not make_gate(store).allows("motion", "cam-depot", real_now())


def test_the_gate_fails_closed_when_the_rules_cannot_be_read() -> None:
    class Broken:
        def rules(self, now: datetime) -> object:
            raise RuntimeError("database down")

    gate = ActivationGate(Broken(), real_now)  # type: ignore[arg-type]
    assert not gate.allows("motion", "cam-depot", real_now())


def test_cache_ttl_must_stay_under_a_second(store: SqlGovernanceStore) -> None:
    with pytest.raises(ValueError, match="within a second"):
        ActivationGate(CheckedRules(store, CATALOGUE, CONFIG, SEALS.verifier), real_now, cache_ttl_s=2)
