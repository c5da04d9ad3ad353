"""The governance commands: compliance status and register, activation request/approve/revoke/list, stop and
resume. :mod:`vigie.cli.governance` wires them to argparse; each returns the process exit code (0 done, 1 refused,
2 the configuration, catalogue or database is unusable).

The commands that change something act as the account signed in with ``vigie login``
(:mod:`vigie.cli.commands.session`) through the same use cases as the API (:class:`GovernanceAccess`): the
account's roles and tenant are checked, and the audit log names the account. ``--as ROLE`` picks the role of an
account holding several (it must hold it): the two approvals of an activation come from two different accounts in
two different approving roles.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from vigie.cli.commands.context import Opened, Unusable, run_opened
from vigie.cli.commands.session import run_signed_in
from vigie.config.models import VigieConfig
from vigie.domain.audit import AuditAction
from vigie.governance.activation import ActivationState
from vigie.governance.catalogue import Catalogue, CatalogueError
from vigie.governance.register import AnalysisEntry, build_register, render_html, render_markdown
from vigie.governance.report import OpenGate, open_gates
from vigie.runtime.assembly.governance import open_governance
from vigie.services.access import AccessDeniedError, Principal
from vigie.services.governance import ActivationStatus, GovernanceService, GovernanceStatus
from vigie.services.governance_access import ActivationDraft, GovernanceAccess, GovernanceRefusedError
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


def _run_as(
    config_path: Path, what: str, action: Callable[[GovernanceAccess, Principal], int], role: str | None
) -> int:
    """Run ``action`` for the signed-in account (acting in ``role``) through the same governance use cases as the
    API; the governance rules' refusals are listed (exit 1), as are permission refusals (audited)."""

    def with_access(context: Opened, viewer: Principal) -> int:
        try:
            access = open_governance(context.config, context.engine, context.audit, context.clock)
        except CatalogueError as err:
            raise Unusable(str(err)) from err
        try:
            return action(access, viewer)
        except GovernanceRefusedError as err:
            print("vigie: refused:", file=sys.stderr)
            for refusal in err.refusals:
                print(f"  - {refusal.message} [{refusal.code}]", file=sys.stderr)
            return 1

    return run_signed_in(config_path, what, with_access, role=role)


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
    tenant: str | None = None,
    module: str,
    cameras: Sequence[str],
    framework: str,
    decision: str,
    decision_date: date | None,
    dpia: str,
    purpose: str,
    start: datetime,
    end: datetime,
    role: str | None = None,
    zones: Sequence[str] = (),
    calibration: int | None = None,
) -> int:
    """Request an activation as the signed-in account, for its own tenant (``tenant``, when given, must be it)."""
    draft = ActivationDraft(
        module=module,
        camera_ids=tuple(cameras),
        framework=framework,
        decision_number=decision,
        decision_date=decision_date,
        dpia_reference=dpia,
        purpose=purpose,
        starts_at=start,
        ends_at=end,
        zone_ids=tuple(zones),
        calibration_seq=calibration,
    )

    def ask(access: GovernanceAccess, viewer: Principal) -> int:
        if tenant is not None and tenant != viewer.user.commune_id:
            raise AccessDeniedError(
                f"{viewer.actor} requests activations for {viewer.user.commune_id} only, not for {tenant}"
            )
        item = access.request_as(viewer, draft)
        print(f"activation {item.activation.id} requested; it needs two approvals (dpo, authority)")
        return 0

    return _run_as(config_path, "vigie activation request", ask, role)


def activation_approve_command(config_path: Path, activation_id: int, role: str | None = None) -> int:
    """Approve as the signed-in account, in its approving role (``role`` when it holds both dpo and authority)."""

    def approve(access: GovernanceAccess, viewer: Principal) -> int:
        item = access.approve_as(viewer, activation_id)
        print(f"activation {activation_id} approved; it is now {item.state.value}")
        return 0

    return _run_as(config_path, "vigie activation approve", approve, role)


def activation_revoke_command(config_path: Path, activation_id: int, reason: str, role: str | None = None) -> int:
    def revoke(access: GovernanceAccess, viewer: Principal) -> int:
        access.revoke_as(viewer, activation_id, reason)
        print(f"activation {activation_id} revoked; the module stops within a second")
        return 0

    return _run_as(config_path, "vigie activation revoke", revoke, role)


def activation_list_command(config_path: Path) -> int:
    def show(context: _Context) -> int:
        status = context.service.status()
        if not status.activations:
            print("No activation was ever requested.")
        for item in status.activations:
            print(_describe(item))
        return 0

    return _run(config_path, show)


def stop_command(config_path: Path, camera: str | None, reason: str, role: str | None = None) -> int:
    """Engage the stop switch of ``camera``, or the global one (L29), as the signed-in account."""

    def stop(access: GovernanceAccess, viewer: Principal) -> int:
        access.engage_stop_as(viewer, camera, reason)
        print(f"stop engaged on {camera or 'every camera'}; analysis stops within a second")
        return 0

    return _run_as(config_path, "vigie stop", stop, role)


def resume_command(config_path: Path, camera: str | None, reason: str, role: str | None = None) -> int:
    """Release a stop switch (approving roles only: dpo, authority), as the signed-in account."""

    def resume(access: GovernanceAccess, viewer: Principal) -> int:
        access.release_stop_as(viewer, camera, reason)
        print(f"stop released on {camera or 'every camera'}")
        return 0

    return _run_as(config_path, "vigie resume", resume, role)
