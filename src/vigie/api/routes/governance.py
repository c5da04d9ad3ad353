"""Governance: what analysis is in force where, the legal catalogue, activations with two-person approval,
revocation and stop switches (L21–L24, L29). The service checks the permissions, the tenant and the governance
rules, and audits every decision and refusal; a refusal of the rules answers 422 with one detail per reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from vigie.api.deps import configured
from vigie.api.governance_schemas import (
    ActivationIn,
    ActivationOut,
    ActivationPageOut,
    ApprovalOut,
    CatalogueOut,
    FrameworkOut,
    GovernanceOut,
    ModuleOut,
    RevocationOut,
    RevokeIn,
    SimulatedOut,
    StopIn,
    StopOut,
)
from vigie.api.security import CurrentPrincipal
from vigie.domain.activation import StopSwitch
from vigie.services.governance import ActivationStatus
from vigie.services.governance_access import ActivationDraft, ActivationState, GovernanceAccess

router = APIRouter(tags=["governance"])
ActivationId = Annotated[int, Path(ge=1, le=2**62)]


def _service(request: Request) -> GovernanceAccess:
    return configured(request, "governance", GovernanceAccess, "governance is")


def activation_out(item: ActivationStatus) -> ActivationOut:
    a, r = item.activation, item.revocation
    return ActivationOut(
        id=a.id,
        tenant=a.tenant,
        module=a.module,
        camera_ids=list(a.camera_ids),
        zone_ids=list(a.zone_ids),
        framework=a.framework,
        decision_number=a.decision_number,
        decision_date=a.decision_date,
        dpia_reference=a.dpia_reference,
        purpose=a.purpose,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        requested_by=a.requested_by,
        requested_role=a.requested_role,
        requested_at=a.requested_at,
        calibration_seq=a.calibration_seq,
        state=item.state.value,
        approvals=[ApprovalOut(by=p.by, role=p.role, at=p.at) for p in item.approvals],
        revocation=None if r is None else RevocationOut(by=r.by, role=r.role, reason=r.reason, at=r.at),
        runs_until=item.runs_until,
    )


def stop_out(s: StopSwitch) -> StopOut:
    return StopOut(camera_id=s.camera_id, engaged=s.engaged, by=s.by, role=s.role, reason=s.reason, at=s.at)


@router.get("/api/governance", response_model=GovernanceOut, summary="Analysis in force and stop switches")
def governance_status(
    *,
    request: Request,
    principal: CurrentPrincipal,
    state: Annotated[ActivationState | None, Query(description="only activations in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> GovernanceOut:
    """The activations of the tenants whose cameras you see (newest first, one page), how many are in force (the
    console's permanent banner), the global stop switch and the engaged switches of your cameras."""
    view = _service(request).status_for(principal, state=state, limit=limit, offset=offset)
    return GovernanceOut(
        at=view.at,
        active_count=view.active_count,
        active_modules=list(view.active_modules),
        global_stop=None if view.global_stop is None else stop_out(view.global_stop),
        camera_stops=[stop_out(s) for s in view.camera_stops],
        simulated_footage=[SimulatedOut(camera_id=c, modules=list(m)) for c, m in view.simulated],
        activations=ActivationPageOut(
            items=[activation_out(a) for a in view.activations],
            total=view.total,
            limit=limit,
            offset=offset,
            next_offset=offset + limit if offset + limit < view.total else None,
        ),
    )


@router.get("/api/governance/catalogue", response_model=CatalogueOut, summary="Modules and their legal frameworks")
def catalogue(request: Request, principal: CurrentPrincipal) -> CatalogueOut:
    """The whole catalogue (a few dozen entries fixed by the build: not paginated), with, for each module, the
    cameras of your commune on which a framework in force could authorise it today."""
    view = _service(request).catalogue_for(principal)
    return CatalogueOut(
        version=view.version,
        updated=view.updated,
        frameworks=[
            FrameworkOut(
                id=f.id,
                title=f.title,
                description=f.description,
                reference=f.reference,
                ends_on=f.ends_on,
                in_force=f.in_force(view.at),
                settings=[s.value for s in f.settings],
                tenant_kinds=[k.value for k in f.tenant_kinds],
                note=f.note,
            )
            for f in view.frameworks
        ],
        modules=[
            ModuleOut(
                id=o.module.id,
                title=o.module.title,
                description=o.module.description,
                frameworks=list(o.module.frameworks),
                tenant_kinds=[k.value for k in o.module.tenant_kinds],
                approvable=o.approvable,
                cameras=list(o.cameras),
            )
            for o in view.modules
        ],
    )


@router.post(
    "/api/activations", response_model=ActivationOut, status_code=201, summary="Request an activation (two approvals)"
)
def request_activation(request: Request, principal: CurrentPrincipal, body: ActivationIn) -> ActivationOut:
    draft = ActivationDraft(
        module=body.module,
        camera_ids=tuple(body.camera_ids),
        zone_ids=tuple(body.zone_ids),
        calibration_seq=body.calibration_seq,
        framework=body.framework,
        decision_number=body.decision_number,
        decision_date=body.decision_date,
        dpia_reference=body.dpia_reference,
        purpose=body.purpose,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )
    return activation_out(_service(request).request_as(principal, draft))


@router.get("/api/activations/{activation_id}", response_model=ActivationOut, summary="One activation")
def get_activation(request: Request, principal: CurrentPrincipal, activation_id: ActivationId) -> ActivationOut:
    return activation_out(_service(request).activation_for(principal, activation_id))


@router.post("/api/activations/{activation_id}/approve", response_model=ActivationOut, summary="Approve (dpo, mayor)")
def approve(request: Request, principal: CurrentPrincipal, activation_id: ActivationId) -> ActivationOut:
    return activation_out(_service(request).approve_as(principal, activation_id))


@router.post("/api/activations/{activation_id}/revoke", response_model=ActivationOut, summary="Revoke at once")
def revoke(request: Request, principal: CurrentPrincipal, activation_id: ActivationId, body: RevokeIn) -> ActivationOut:
    return activation_out(_service(request).revoke_as(principal, activation_id, body.reason))


@router.post("/api/stops", response_model=StopOut, summary="Engage a stop switch (a camera, or null: every camera)")
def engage_stop(request: Request, principal: CurrentPrincipal, body: StopIn) -> StopOut:
    return stop_out(_service(request).engage_stop_as(principal, body.camera_id, body.reason))


@router.post("/api/stops/release", response_model=StopOut, summary="Release a stop switch (dpo, mayor)")
def release_stop(request: Request, principal: CurrentPrincipal, body: StopIn) -> StopOut:
    return stop_out(_service(request).release_stop_as(principal, body.camera_id, body.reason))
