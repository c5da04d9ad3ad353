"""The compliance report from the audit chain, with a clock we control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vigie.domain.audit import GENESIS_HASH, AuditAction, AuditEvent, AuditRecord, seal
from vigie.governance.report import build_report, open_gates
from vigie.governance.report_html import render_report_html

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
MODULES = ("intrusion", "abandoned_object", "crowd_movement")


def chain(*events: tuple[float, AuditAction, dict[str, Any]]) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    prev = GENESIS_HASH
    for seq, (minutes, action, details) in enumerate(events, start=1):
        record = seal(
            seq, AuditEvent("system:gate", action, "camera:x", details), T0 + timedelta(minutes=minutes), prev
        )
        records.append(record)
        prev = record.hash
    return records


def gate(minutes: float, opened: bool, camera: str, module: str = "intrusion", reason: str = "started"):  # type: ignore[no-untyped-def]
    action = AuditAction.GATE_OPENED if opened else AuditAction.GATE_CLOSED
    return (minutes, action, {"module": module, "camera_id": camera, "activation_id": "A1", "reason": reason})


def test_intervals_per_module_and_camera_and_statements_for_the_rest() -> None:
    records = chain(
        (0, AuditAction.ACTIVATION_APPROVED, {"activation_id": "A1", "role": "dpo"}),
        gate(10, True, "cam-1"),
        gate(12, True, "cam-2"),
        gate(40, False, "cam-1", reason="revoked"),
        gate(40, False, "cam-2", reason="revoked"),
        gate(100, True, "cam-1"),
        gate(130, False, "cam-1", reason="expired"),
    )
    report = build_report(records, MODULES, T0, T0 + timedelta(hours=3), T0 + timedelta(hours=4))
    got = [(i.camera_id, i.start, i.end, i.closed_because) for i in report.by_module["intrusion"]]
    assert got == [
        ("cam-1", T0 + timedelta(minutes=10), T0 + timedelta(minutes=40), "revoked"),
        ("cam-1", T0 + timedelta(minutes=100), T0 + timedelta(minutes=130), "expired"),
        ("cam-2", T0 + timedelta(minutes=12), T0 + timedelta(minutes=40), "revoked"),
    ]
    assert report.modules_never_active == ("abandoned_object", "crowd_movement")
    assert [e.action for e in report.lifecycle] == ["activation.approved"]
    assert report.chain_head_seq == 7 and report.chain_head_hash == records[-1].hash


def test_intervals_are_cut_to_the_period_and_closed_by_a_service_stop() -> None:
    records = chain(
        gate(-30, True, "cam-1"),  # already running before the period
        gate(30, False, "cam-1", reason="stopped"),
        gate(50, True, "cam-2"),
        (70, AuditAction.SERVICE_STOPPED, {}),
        gate(80, True, "cam-3"),  # still running at the end
        gate(500, False, "cam-3"),  # after the period: not read
    )
    since, until = T0, T0 + timedelta(minutes=120)
    report = build_report(records, MODULES, since, until, until)
    got = {i.camera_id: (i.start, i.end, i.closed_because) for i in report.intervals}
    assert got == {
        "cam-1": (T0, T0 + timedelta(minutes=30), "stopped"),
        "cam-2": (T0 + timedelta(minutes=50), T0 + timedelta(minutes=70), "service stopped"),
        "cam-3": (T0 + timedelta(minutes=80), until, "still running at the end of the period"),
    }
    assert report.records_read == 5


def test_nothing_ran_means_every_module_is_declared_off() -> None:
    report = build_report([], MODULES, T0, T0 + timedelta(days=1), T0 + timedelta(days=1))
    assert report.intervals == () and report.modules_never_active == MODULES
    html = render_report_html(report, controller="Métropole de Lyon")
    for module in MODULES:
        assert f"<strong>{module}</strong>: n'a fonctionné sur aucune caméra" in html
    assert "Métropole de Lyon" in html


def test_html_lists_intervals_in_local_time_and_escapes_details() -> None:
    records = chain(
        (0, AuditAction.ACTIVATION_REQUESTED, {"purpose": "<script>alert(1)</script>"}),
        gate(10, True, "cam-1"),
        gate(70, False, "cam-1", reason="revoked"),
    )
    report = build_report(records, MODULES, T0, T0 + timedelta(hours=2), T0 + timedelta(hours=2))
    html = render_report_html(report)
    assert "01/06/2026 10:10:00" in html and "01/06/2026 11:10:00" in html  # UTC+2 in June
    assert "1 h 00 min 00 s" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_empty_period_is_refused() -> None:
    with pytest.raises(ValueError, match="period is empty"):
        build_report([], MODULES, T0, T0, T0)


def test_open_gates_after_a_service_start() -> None:
    records = chain(
        (0, AuditAction.SERVICE_STARTED, {}),
        gate(1, True, "cam-1"),
        gate(2, True, "cam-2"),
        gate(3, False, "cam-1", reason="stopped"),
    )
    assert [(g.module, g.camera_id, g.activation_id) for g in open_gates(records)] == [("intrusion", "cam-2", "A1")]
    assert open_gates([*records, *chain((4, AuditAction.SERVICE_STOPPED, {}))]) == []


def traced_chain(*events: tuple[float, AuditAction, str, dict[str, Any]]) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    prev = GENESIS_HASH
    for seq, (minutes, action, target, details) in enumerate(events, start=1):
        record = seal(seq, AuditEvent("x", action, target, details), T0 + timedelta(minutes=minutes), prev)
        records.append(record)
        prev = record.hash
    return records


def opened(minutes: float, activation: str, camera: str = "cam-1") -> tuple[float, AuditAction, str, dict[str, Any]]:
    details = {"module": "intrusion", "camera_id": camera, "activation_id": activation, "reason": "started"}
    return (minutes, AuditAction.GATE_OPENED, f"intrusion@{camera}", details)


def test_openings_under_activations_the_chain_never_saw_requested_and_approved_are_flagged() -> None:
    """Rows sealed with a stolen key open the gate, but the chain holds no request or approvals for them: the
    report shows those openings to the auditor (issue #14, threat model)."""
    records = traced_chain(
        (0, AuditAction.ACTIVATION_REQUESTED, "activation:5", {}),
        (1, AuditAction.ACTIVATION_APPROVED, "activation:5", {"role": "dpo"}),
        (2, AuditAction.ACTIVATION_APPROVED, "activation:5", {"role": "authority"}),
        opened(10, "5"),
        (11, AuditAction.ACTIVATION_REQUESTED, "activation:6", {}),
        (12, AuditAction.ACTIVATION_APPROVED, "activation:6", {"role": "dpo"}),
        opened(13, "6", "cam-2"),  # one approval only
        opened(20, "9", "cam-3"),  # never requested
        opened(30, "0", "cam-4"),  # the demo's simulated footage
    )
    report = build_report(records, MODULES, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert [(u.activation_id, u.camera_id, u.requested, u.approvals) for u in report.untraced] == [
        ("6", "cam-2", True, 1),
        ("9", "cam-3", False, 0),
    ]
    html = render_report_html(report)
    assert "Openings without a traced authorisation" in html and "absente / missing" in html
    clean = build_report(records[:4], MODULES, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert clean.untraced == () and "without a traced" not in render_report_html(clean)
