"""The governance commands: compliance status and register, activation request/approve/revoke/list, stop and
resume. ``vigie.cli`` wires them to argparse; each returns the process exit code (0 done, 1 refused, 2 the
configuration, catalogue or database is unusable).

Until authentication exists (issue #7) the person acting is named on the command line and recorded as
``cli:<name>`` with the role given; the audit log keeps that name.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from vigie.config.models import VigieConfig
from vigie.domain.activation import ActivationRequest
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction
from vigie.governance.activation import ActivationState
from vigie.governance.catalogue import Catalogue, CatalogueError
from vigie.governance.register import AnalysisEntry, build_register, render_html, render_markdown
from vigie.governance.report import OpenGate, open_gates
from vigie.runtime.command_context import Opened, Unusable, run_opened
from vigie.runtime.governance_wiring import open_governance
from vigie.services.governance import ActivationStatus, GovernanceService, GovernanceStatus, Outcome
from vigie.storage import SqlAuditStore

LIVE_STATES = (ActivationState.ACTIVE, ActivationState.APPROVED_PENDING_START)


@dataclass(frozen=True, slots=True)
class _Context:
    config: VigieConfig
    catalogue: Catalogue
    service: GovernanceService
    audit_store: SqlAuditStore


def _run(config_path: Path, action: Callable[[_Context], int]) -> int:
    def with_service(opened: Opened) -> int:
        try:
            governance = open_governance(opened.config, opened.engine, opened.audit, opened.clock)
        except CatalogueError as err:
            raise Unusable(str(err)) from err
        context = _Context(opened.config, governance.catalogue, governance.service, SqlAuditStore(opened.engine))
        return action(context)

    return run_opened(config_path, with_service)


def _report(outcome: Outcome, done: str) -> int:
    if outcome.accepted:
        print(done)
        return 0
    print("vigie: refused:", file=sys.stderr)
    for refusal in outcome.refusals:
        print(f"  - {refusal.message} [{refusal.code}]", file=sys.stderr)
    return 1


def _describe(item: ActivationStatus) -> str:
    a = item.activation
    approvals = ", ".join(f"{p.by} ({p.role})" for p in item.approvals) or "none"
    until = item.runs_until.isoformat() if item.runs_until else "never (unknown framework)"
    return (
        f"#{a.id} {item.state.value}: {a.module} on {', '.join(a.camera_ids)} ({a.tenant}) from "
        f"{a.starts_at.isoformat()} until {until}; framework {a.framework}, decision {a.decision_number}, "
        f"DPIA {a.dpia_reference}; requested by {a.requested_by} ({a.requested_role}); approvals: {approvals}"
    )


def _print_stops(status: GovernanceStatus) -> None:
    if status.global_stop is not None:
        s = status.global_stop
        print(f"GLOBAL STOP engaged by {s.by} ({s.role}) at {s.at.isoformat()}: {s.reason}")
    for s in status.camera_stops:
        print(f"stop on {s.camera_id} engaged by {s.by} ({s.role}) at {s.at.isoformat()}: {s.reason}")


def _running_now(store: SqlAuditStore) -> list[OpenGate]:
    """What the gates of the current (or last) service run opened and did not close, from the audit chain."""
    started = store.last(AuditAction.SERVICE_STARTED)
    return [] if started is None else open_gates(store.records(from_seq=started.seq))


def compliance_status_command(config_path: Path) -> int:
    """What analysis is active where, now, and which stop switches are engaged."""

    def show(context: _Context) -> int:
        status = context.service.status()
        live = [a for a in status.activations if a.state in LIVE_STATES]
        running = _running_now(context.audit_store)
        _print_stops(status)
        if not live and not running:
            print("Nothing is active: every analysis module is off on every camera (L22).")
            return 0
        for item in live:
            print(_describe(item))
        for gate in running:
            basis = "simulated footage (no personal data)" if gate.activation_id == "0" else f"#{gate.activation_id}"
            print(f"running now: {gate.module} on {gate.camera_id} since {gate.since.isoformat()} under {basis}")
        return 0

    return _run(config_path, show)


def compliance_register_command(config_path: Path, out: Path | None) -> int:
    """The record of processing (GDPR art. 30), as HTML when ``out`` ends in .html, else Markdown."""

    def write(context: _Context) -> int:
        status = context.service.status()
        analyses = [
            _analysis_entry(item, context.catalogue) for item in status.activations if item.state in LIVE_STATES
        ]
        register = build_register(context.config, context.catalogue, analyses, status.at)
        html = out is not None and out.suffix.lower() in (".html", ".htm")
        text = render_html(register) if html else render_markdown(register)
        if out is None:
            print(text)
        else:
            out.write_text(text, encoding="utf-8")
            print(f"record of processing written to {out}")
        return 0

    return _run(config_path, write)


def _analysis_entry(item: ActivationStatus, catalogue: Catalogue) -> AnalysisEntry:
    a = item.activation
    module = catalogue.module(a.module)
    framework = catalogue.framework(a.framework)
    return AnalysisEntry(
        activation_id=a.id,
        module=a.module,
        module_title=module.title if module else a.module,
        tenant=a.tenant,
        cameras=a.camera_ids,
        framework=a.framework,
        framework_reference=framework.reference if framework else "unknown framework",
        decision_number=a.decision_number,
        dpia_reference=a.dpia_reference,
        purpose=a.purpose,
        starts_at=a.starts_at,
        ends_at=item.runs_until or a.ends_at,
        state=item.state.value,
    )


def activation_request_command(
    config_path: Path,
    *,
    tenant: str,
    module: str,
    cameras: Sequence[str],
    framework: str,
    decision: str,
    decision_date: date | None,
    dpia: str,
    purpose: str,
    start: datetime,
    end: datetime,
    by: str,
    role: str,
    zones: Sequence[str] = (),
) -> int:
    actor = Actor.command_line(by, role=role)
    request = ActivationRequest(
        tenant=tenant,
        module=module,
        camera_ids=tuple(cameras),
        framework=framework,
        decision_number=decision,
        decision_date=decision_date,
        dpia_reference=dpia,
        purpose=purpose,
        starts_at=start,
        ends_at=end,
        requested_by=actor.name,
        requested_role=actor.role,
        zone_ids=tuple(zones),
    )

    def ask(context: _Context) -> int:
        outcome = context.service.request(request)
        return _report(
            outcome, f"activation {outcome.activation_id} requested; it needs two approvals (dpo, authority)"
        )

    return _run(config_path, ask)


def activation_approve_command(config_path: Path, activation_id: int, by: str, role: str) -> int:
    def approve(context: _Context) -> int:
        outcome = context.service.approve(activation_id, Actor.command_line(by, role=role))
        state = outcome.state.value if outcome.state else "?"
        return _report(outcome, f"activation {activation_id} approved; it is now {state}")

    return _run(config_path, approve)


def activation_revoke_command(config_path: Path, activation_id: int, by: str, role: str, reason: str) -> int:
    def revoke(context: _Context) -> int:
        outcome = context.service.revoke(activation_id, Actor.command_line(by, role=role), reason)
        return _report(outcome, f"activation {activation_id} revoked; the module stops within a second")

    return _run(config_path, revoke)


def activation_list_command(config_path: Path) -> int:
    def show(context: _Context) -> int:
        status = context.service.status()
        if not status.activations:
            print("No activation was ever requested.")
        for item in status.activations:
            print(_describe(item))
        return 0

    return _run(config_path, show)


def stop_command(config_path: Path, camera: str | None, by: str, reason: str, role: str = "operator") -> int:
    """Engage the stop switch of ``camera``, or the global one (L29)."""

    def stop(context: _Context) -> int:
        outcome = context.service.engage_stop(camera, Actor.command_line(by, role=role), reason)
        return _report(outcome, f"stop engaged on {camera or 'every camera'}; analysis stops within a second")

    return _run(config_path, stop)


def resume_command(config_path: Path, camera: str | None, by: str, role: str, reason: str) -> int:
    """Release a stop switch (roles dpo or authority only)."""

    def resume(context: _Context) -> int:
        outcome = context.service.release_stop(camera, Actor.command_line(by, role=role), reason)
        return _report(outcome, f"stop released on {camera or 'every camera'}")

    return _run(config_path, resume)
