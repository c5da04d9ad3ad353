"""Alerts stay pending until a person decides (L28); only a confirmation is dispatched; every step is in the audit
chain; verdicts give the false-positive rate per module and camera (L31)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.clocks import StepClock
from vigie.domain.actor import Actor
from vigie.domain.alerts import Alert, AlertAlreadyDecidedError, AlertNotFoundError, AlertState, Verdict
from vigie.domain.audit import AuditAction
from vigie.domain.geometry import Box
from vigie.domain.observation import Observation
from vigie.governance.audit import AuditChain, AuditKeyring
from vigie.services.alerts import AlertRefusedError, AlertService
from vigie.storage import SqlAlertRepo, SqlAuditStore, create_engine_for, migrate

T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)


@dataclass
class Loudspeaker:
    """A dispatcher that records what it was asked to announce (the real ones speak, send, notify)."""

    played: list[Alert] = field(default_factory=list)
    broken: bool = False

    def dispatch(self, alert: Alert) -> None:
        if self.broken:
            raise ConnectionError("speaker 12 unreachable")
        self.played.append(alert)


@dataclass
class Rig:
    service: AlertService
    store: SqlAuditStore
    speaker: Loudspeaker


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'vigie.db'}")
    migrate(engine)
    store = SqlAuditStore(engine)
    chain = AuditChain(store, AuditKeyring(tmp_path / "keys"), checkpoint_every=1000, clock=StepClock())
    speaker = Loudspeaker()
    return Rig(AlertService(SqlAlertRepo(engine), chain, lambda: T0 + timedelta(minutes=5), [speaker]), store, speaker)


def observation(module: str = "abandoned_object", camera: str = "gare-3", seconds: int = 0) -> Observation:
    return Observation(
        camera, module, module, T0 + timedelta(seconds=seconds), (Box(0.4, 0.6, 0.05, 0.08),), 0.81, "picodet@sha256:12"
    )


def test_a_raised_alert_is_pending_audited_and_not_dispatched(rig: Rig) -> None:
    alert = rig.service.raise_alert(observation())
    assert alert.state is AlertState.PENDING and rig.speaker.played == []
    assert [a.id for a in rig.service.pending()] == [alert.id]
    raised = [r for r in rig.store.records() if r.action == AuditAction.ALERT_RAISED]
    assert (
        len(raised) == 1 and raised[0].target == "gare-3" and raised[0].details["model_version"] == "picodet@sha256:12"
    )


def test_confirmation_is_recorded_audited_then_dispatched_once(rig: Rig) -> None:
    alert = rig.service.raise_alert(observation())
    assert alert.id is not None
    confirmed = rig.service.confirm(alert.id, by=Actor("Léa Martin", "operator"), note="sac seul sur le quai")
    assert confirmed.state is AlertState.CONFIRMED and confirmed.decided_at == T0 + timedelta(minutes=5)
    assert [a.id for a in rig.speaker.played] == [alert.id]
    verdicts = [r for r in rig.store.records() if r.action == AuditAction.ALERT_VERDICT]
    assert verdicts[-1].actor == "Léa Martin" and verdicts[-1].details["verdict"] == "confirmed"
    with pytest.raises(AlertAlreadyDecidedError):
        rig.service.dismiss(alert.id, by=Actor("Marc Petit", "supervisor"))
    assert len(rig.speaker.played) == 1


def test_dismissed_alerts_are_never_dispatched(rig: Rig) -> None:
    for verdict in (Verdict.FALSE_POSITIVE, Verdict.NOT_ACTIONABLE, Verdict.DUPLICATE):
        alert = rig.service.raise_alert(observation())
        dismissed = rig.service.dismiss(alert.id or 0, by=Actor("Léa Martin", "operator"), verdict=verdict)
        assert dismissed.state is AlertState.DISMISSED and dismissed.verdict is verdict
    assert rig.speaker.played == []
    with pytest.raises(AlertRefusedError, match="dismiss with one of"):
        rig.service.dismiss(
            rig.service.raise_alert(observation()).id or 0, by=Actor("x", "operator"), verdict=Verdict.CONFIRMED
        )


def test_only_named_operators_decide(rig: Rig) -> None:
    alert = rig.service.raise_alert(observation())
    with pytest.raises(AlertRefusedError, match="name"):
        rig.service.confirm(alert.id or 0, by=Actor("  ", "operator"))
    with pytest.raises(AlertRefusedError, match="role 'dpo'"):
        rig.service.confirm(alert.id or 0, by=Actor("Anne", "dpo"))
    with pytest.raises(AlertNotFoundError):
        rig.service.confirm(12345, by=Actor("Anne", "operator"))
    assert rig.service.pending()[0].state is AlertState.PENDING and rig.speaker.played == []


def test_a_failing_dispatcher_keeps_the_verdict_and_is_traced(rig: Rig) -> None:
    rig.speaker.broken = True
    alert = rig.service.raise_alert(observation())
    confirmed = rig.service.confirm(alert.id or 0, by=Actor("Léa Martin", "operator"))
    assert confirmed.state is AlertState.CONFIRMED
    failures = [r for r in rig.store.records() if r.details.get("dispatch_failed")]
    assert len(failures) == 1 and "unreachable" in failures[0].details["error"]


def test_false_positive_rate_per_module_and_camera(rig: Rig) -> None:
    decisions = {
        ("abandoned_object", "gare-3"): [Verdict.FALSE_POSITIVE] * 5
        + [Verdict.CONFIRMED] * 3
        + [Verdict.DUPLICATE] * 2,
        ("intrusion", "gare-3"): [Verdict.CONFIRMED] * 4 + [Verdict.NOT_ACTIONABLE],
        ("intrusion", "quai-9"): [],
    }
    for (module, camera), verdicts in decisions.items():
        for verdict in verdicts:
            alert = rig.service.raise_alert(observation(module, camera))
            if verdict is Verdict.CONFIRMED:
                rig.service.confirm(alert.id or 0, by=Actor("Léa", "operator"))
            else:
                rig.service.dismiss(alert.id or 0, by=Actor("Léa", "operator"), verdict=verdict)
    rig.service.raise_alert(observation("intrusion", "quai-9"))
    stats = {(s.module, s.camera_id): s for s in rig.service.statistics()}
    bags = stats[("abandoned_object", "gare-3")]
    assert (bags.raised, bags.decided, bags.false_positives) == (10, 10, 5)
    assert bags.false_positive_rate == pytest.approx(5 / 8)  # duplicates are neither right nor wrong
    assert stats[("intrusion", "gare-3")].false_positive_rate == 0.0
    quai = stats[("intrusion", "quai-9")]
    assert quai.pending == 1 and quai.false_positive_rate is None
