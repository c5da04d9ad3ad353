"""Governance on behalf of a logged-in person (L10, L11, L21–L24, L29): who may see, request, approve, revoke and
stop what, in a métropole of several tenants.

:class:`~vigie.services.governance.GovernanceService` applies the governance rules (catalogue, dates, two-person
approval) and audits every call; this layer adds the person: their permissions, the tenant they belong to and the
cameras they see. What it promises:

- a person sees the activations of the tenants whose cameras they see (their own, and those sharing with them), the
  stop switches of the cameras they see, and the global stop switch;
- a request is made in the requester's name, for their own tenant, on cameras they see;
- only people of an activation's own tenant approve or revoke it (a Bron mayor never approves for Villeurbanne);
- a camera's stop switch is engaged by whoever sees the camera and may engage stops, and released only by an
  approving role of the camera's own tenant; the global switch, which stops every tenant's analysis, is engaged and
  released only by approving roles (docs/access.md says why);
- another tenant's activation or camera answers exactly like one that does not exist (:class:`NotVisibleError`),
  and that refusal is audited like the rules' own refusals; permission refusals raise :class:`AccessDeniedError`,
  which the API audits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Final

from vigie.config.models import VigieConfig
from vigie.domain.activation import ActivationRequest, StopSwitch
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.ports import AuditSink
from vigie.domain.redact import redact_text
from vigie.domain.users import ROLE_PERMISSIONS, Permission
from vigie.governance.activation import APPROVER_ROLES, ActivationState, Refusal
from vigie.governance.catalogue import Catalogue, Framework, Module
from vigie.governance.seal import Sealer, SealVerifier
from vigie.services.access import AccessDeniedError, NotVisibleError, Principal
from vigie.services.governance import (
    AccountRoles,
    ActivationStatus,
    AuditEntry,
    GovernanceService,
    GovernanceStore,
    Outcome,
)

__all__ = [
    "ActivationDraft",
    "ActivationState",
    "CatalogueView",
    "GovernanceAccess",
    "GovernanceRefusedError",
    "GovernanceView",
    "ModuleOffer",
]


def _roles_with(permission: Permission) -> frozenset[str]:
    return frozenset(role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted)


REQUESTING_ROLES: Final = _roles_with(Permission.REQUEST_ACTIVATION)
STOPPING_ROLES: Final = _roles_with(Permission.ENGAGE_STOP)


class GovernanceRefusedError(ValueError):
    """The governance rules refuse the request; each refusal says what to fix (``code`` is stable for programs)."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals = tuple(refusals)
        super().__init__(redact_text("; ".join(r.message for r in self.refusals)) or "refused")

    def details(self) -> list[dict[str, str]]:
        return [{"code": r.code, "message": redact_text(r.message)} for r in self.refusals]


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivationDraft:
    """What a person asks for; who asks, in which role and for which tenant come from their session."""

    module: str
    camera_ids: tuple[str, ...]
    framework: str
    decision_number: str
    decision_date: date | None
    dpia_reference: str
    purpose: str
    starts_at: datetime
    ends_at: datetime
    zone_ids: tuple[str, ...] = ()
    calibration_seq: int | None = None
    """The audit entry of the calibration run the request is based on (L32)."""


@dataclass(frozen=True, slots=True)
class GovernanceView:
    """What one person sees of governance at ``at``: one page of activations, newest first, and the counts and
    switches the console's permanent banner shows."""

    at: datetime
    activations: tuple[ActivationStatus, ...]
    """This page of the activations the person sees."""
    total: int
    """How many activations the person sees (with the state filter), over every page."""
    active_count: int
    """Activations in force (approved, started, not ended, not revoked) that the person sees."""
    active_modules: tuple[str, ...]
    global_stop: StopSwitch | None
    camera_stops: tuple[StopSwitch, ...]
    """Engaged switches of the cameras the person sees."""
    simulated: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Modules analysing generated footage (``vigie demo``) on the person's cameras, without an activation: the
    footage shows nobody. Empty while the global stop is engaged; a camera's own stop removes it."""


@dataclass(frozen=True, slots=True)
class ModuleOffer:
    """A module of the catalogue and, for one person's tenant, the cameras it could be activated on today."""

    module: Module
    cameras: tuple[str, ...]
    """The tenant's cameras on which a framework in force can authorise the module for this kind of tenant."""

    @property
    def approvable(self) -> bool:
        return bool(self.cameras)


@dataclass(frozen=True, slots=True)
class CatalogueView:
    version: int
    updated: date
    at: datetime
    frameworks: tuple[Framework, ...]
    modules: tuple[ModuleOffer, ...]


@dataclass(frozen=True, slots=True)
class PublicActivation:
    module: str
    module_title: str
    framework_title: str
    tenant: str
    camera_ids: tuple[str, ...]
    """Cameras of the activation not held by their own stop switch."""
    purpose: str
    decision_number: str
    decision_date: date | None
    starts_at: datetime
    runs_until: datetime


@dataclass(frozen=True, slots=True)
class PublicAnalysis:
    at: datetime
    activations: tuple[PublicActivation, ...]
    stopped: bool
    """The global stop switch is engaged: nothing runs, whatever is listed."""


class GovernanceAccess:
    """The governance use cases for a logged-in :class:`Principal`; builds the one :class:`GovernanceService`
    (``service``) so that both share the same store, catalogue, configuration, audit sink and clock."""

    def __init__(
        self,
        store: GovernanceStore,
        *,
        catalogue: Catalogue,
        config: VigieConfig,
        audit: AuditSink,
        clock: Callable[[], datetime],
        sealer: Sealer,
        verifier: SealVerifier,
        accounts: AccountRoles,
        audit_entry: AuditEntry,
        readiness: Callable[[ActivationRequest], list[Refusal]] | None = None,
        simulated: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """``simulated``: camera → modules that analyse it because its footage is generated (decided by the
        composition root, never by the configuration file). The rest is :class:`GovernanceService`'s."""
        self.service = GovernanceService(
            store,
            catalogue,
            config,
            audit,
            clock,
            sealer=sealer,
            verifier=verifier,
            accounts=accounts,
            audit_entry=audit_entry,
            readiness=readiness,
        )
        self._simulated = {camera: tuple(modules) for camera, modules in (simulated or {}).items()}
        self.catalogue = catalogue
        self._store = store
        self._config = config
        self._audit = audit
        self._clock = clock

    # --- reading ------------------------------------------------------------------------------------------------

    def status_for(
        self, viewer: Principal, *, state: ActivationState | None = None, limit: int = 100, offset: int = 0
    ) -> GovernanceView:
        viewer.require(Permission.READ_GOVERNANCE)
        status = self.service.status()
        seen = [s for s in (_seen_by(viewer, item) for item in reversed(status.activations)) if s is not None]
        active = [s for s in seen if s.state is ActivationState.ACTIVE]
        listed = [s for s in seen if state is None or s.state is state]
        return GovernanceView(
            at=status.at,
            activations=tuple(listed[offset : offset + limit]),
            total=len(listed),
            active_count=len(active),
            active_modules=tuple(sorted({s.activation.module for s in active})),
            global_stop=status.global_stop,
            camera_stops=tuple(s for s in status.camera_stops if s.camera_id and viewer.sees_camera(s.camera_id)),
            simulated=self._simulated_for(viewer, status.global_stop is not None, status.camera_stops),
        )

    def _simulated_for(
        self, viewer: Principal, stopped: bool, camera_stops: Sequence[StopSwitch]
    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
        if stopped:
            return ()
        held = {s.camera_id for s in camera_stops}
        return tuple(
            (camera, modules)
            for camera, modules in sorted(self._simulated.items())
            if modules and camera not in held and viewer.sees_camera(camera)
        )

    def public_analysis(self) -> PublicAnalysis:
        """What the public page says (R252-10, L36): the analysis in force now and where, under which decision,
        and whether a stop switch holds it; never who requested or approved it."""
        status = self.service.status()
        stopped = frozenset(s.camera_id for s in status.camera_stops if s.camera_id)
        items = []
        for item in status.active:
            activation = item.activation
            module = self.catalogue.module(activation.module)
            framework = next((f for f in self.catalogue.frameworks if f.id == activation.framework), None)
            items.append(
                PublicActivation(
                    module=activation.module,
                    module_title=module.title if module else activation.module,
                    framework_title=framework.title if framework else activation.framework,
                    tenant=activation.tenant,
                    camera_ids=tuple(c for c in activation.camera_ids if c not in stopped),
                    purpose=activation.purpose,
                    decision_number=activation.decision_number,
                    decision_date=activation.decision_date,
                    starts_at=activation.starts_at,
                    runs_until=item.runs_until or activation.ends_at,
                )
            )
        return PublicAnalysis(at=status.at, activations=tuple(items), stopped=status.global_stop is not None)

    def activation_for(self, viewer: Principal, activation_id: int) -> ActivationStatus:
        viewer.require(Permission.READ_GOVERNANCE)
        found = self._status(activation_id)
        seen = None if found is None else _seen_by(viewer, found)
        if seen is None:
            raise NotVisibleError(_not_visible(activation_id))
        return seen

    def catalogue_for(self, viewer: Principal) -> CatalogueView:
        """The catalogue, with the cameras of the viewer's own tenant each module could be activated on today."""
        viewer.require(Permission.READ_GOVERNANCE)
        now = self._clock()
        commune = next((c for c in self._config.communes if c.id == viewer.user.commune_id), None)
        settings = [
            (p.camera.id, p.camera.setting) for p in self._config.placements() if p.commune.id == viewer.user.commune_id
        ]
        offers = []
        for module in self.catalogue.modules:
            cameras: tuple[str, ...] = ()
            if commune is not None:
                cameras = tuple(
                    camera_id
                    for camera_id, setting in settings
                    if any(f.in_force(now) for f in self.catalogue.frameworks_for(module.id, setting, commune.kind))
                )
            offers.append(ModuleOffer(module, cameras))
        return CatalogueView(
            self.catalogue.version, self.catalogue.updated, now, self.catalogue.frameworks, tuple(offers)
        )

    # --- acting -------------------------------------------------------------------------------------------------

    def request_as(self, viewer: Principal, draft: ActivationDraft) -> ActivationStatus:
        """Record a request for the viewer's own tenant; it then awaits two approvals by people of that tenant."""
        viewer.require(Permission.REQUEST_ACTIVATION)
        role = _role(viewer, REQUESTING_ROLES, "request activations")
        hidden = [c for c in draft.camera_ids if not viewer.sees_camera(c)]
        if hidden:
            message = f"no camera {hidden[0]!r} among the cameras you may see"
            self._hidden(viewer, f"activation-request:{draft.module}", "request", message, {"cameras": hidden})
            raise NotVisibleError(message)
        request = ActivationRequest(
            tenant=viewer.user.commune_id,
            module=draft.module,
            camera_ids=draft.camera_ids,
            framework=draft.framework,
            decision_number=draft.decision_number,
            decision_date=draft.decision_date,
            dpia_reference=draft.dpia_reference,
            purpose=draft.purpose,
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            requested_by=viewer.actor,
            requested_role=role,
            zone_ids=draft.zone_ids,
            calibration_seq=draft.calibration_seq,
        )
        return self._result(self.service.request(request))

    def record_refused_request(self, viewer: Principal, fields: Mapping[str, Any], error: str) -> None:
        """Audit an activation request refused before :meth:`request_as` could read it (the API's 422: a date out
        of range, a missing field) like the rules' refusals (issue 15 D13). ``fields``: the request's raw JSON."""
        module = str(fields.get("module", ""))[:64] or "-"
        cameras = fields.get("camera_ids")
        listed = [str(c)[:128] for c in cameras[:1000]] if isinstance(cameras, list) else []
        refusal = {"code": "invalid_request", "message": redact_text(error[:4000])}
        details = {"cameras": listed, "stage": "request", "refusals": [refusal]}
        self._record(viewer.actor, AuditAction.ACTIVATION_REFUSED, f"activation-request:{module}", details)

    def approve_as(self, viewer: Principal, activation_id: int) -> ActivationStatus:
        viewer.require(Permission.APPROVE_ACTIVATION)
        self._own_activation(viewer, activation_id, "approval")
        role = _role(viewer, APPROVER_ROLES, "approve activations")
        return self._result(self.service.approve(activation_id, Actor(viewer.actor, role)))

    def revoke_as(self, viewer: Principal, activation_id: int, reason: str) -> ActivationStatus:
        """Revoke at once, whatever the state: open to the approving roles of the activation's tenant."""
        viewer.require(Permission.APPROVE_ACTIVATION)
        self._own_activation(viewer, activation_id, "revocation")
        role = _role(viewer, APPROVER_ROLES, "revoke activations")
        return self._result(self.service.revoke(activation_id, Actor(viewer.actor, role), reason))

    def engage_stop_as(self, viewer: Principal, camera_id: str | None, reason: str) -> StopSwitch:
        """Stop every module on one camera the viewer sees, or everywhere (``camera_id`` None: approving roles)."""
        viewer.require(Permission.ENGAGE_STOP)
        if camera_id is None:
            role = _role(viewer, APPROVER_ROLES, "engage the global stop switch (stop your cameras one by one)")
        else:
            self._visible_camera(viewer, camera_id, AuditAction.STOP_ENGAGED, reason)
            role = _role(viewer, STOPPING_ROLES, "engage stop switches")
        return self._switched(self.service.engage_stop(camera_id, Actor(viewer.actor, role), reason), camera_id)

    def release_stop_as(self, viewer: Principal, camera_id: str | None, reason: str) -> StopSwitch:
        """Release a stop switch: approving roles only, of the camera's own tenant for a camera's switch."""
        viewer.require(Permission.RELEASE_STOP)
        if camera_id is not None:
            self._visible_camera(viewer, camera_id, AuditAction.STOP_RELEASED, reason)
            owner = viewer.directory.owner(camera_id)
            if owner != viewer.user.commune_id:
                raise AccessDeniedError(f"only people of {owner} may release the stop switch of camera {camera_id}")
        role = _role(viewer, APPROVER_ROLES, "release stop switches")
        return self._switched(self.service.release_stop(camera_id, Actor(viewer.actor, role), reason), camera_id)

    # --- inside -------------------------------------------------------------------------------------------------

    def _status(self, activation_id: int) -> ActivationStatus | None:
        return next((s for s in self.service.status().activations if s.activation.id == activation_id), None)

    def _result(self, outcome: Outcome) -> ActivationStatus:
        if not outcome.accepted or outcome.activation_id is None:
            raise GovernanceRefusedError(outcome.refusals)
        found = self._status(outcome.activation_id)
        if found is None:  # the service just wrote it; kept as a guard rather than an assert
            raise LookupError(f"activation {outcome.activation_id} was recorded but cannot be read back")
        return found

    def _own_activation(self, viewer: Principal, activation_id: int, stage: str) -> None:
        """404 (audited) unless the viewer sees the activation; 403 unless it is of the viewer's own tenant."""
        activation = self._store.get_activation(activation_id)
        if activation is None or not _seen_by_tenant(viewer, activation.tenant, activation.camera_ids):
            message = _not_visible(activation_id)
            self._hidden(viewer, f"activation:{activation_id}", stage, message, {})
            raise NotVisibleError(message)
        if activation.tenant != viewer.user.commune_id:
            raise AccessDeniedError(
                f"activation {activation_id} is of {activation.tenant}: only its own people may decide on it"
            )

    def _visible_camera(self, viewer: Principal, camera_id: str, action: AuditAction, reason: str) -> None:
        if viewer.sees_camera(camera_id):
            return
        message = f"no camera {camera_id!r} among the cameras you may see"
        refusal = {"code": "not_visible", "message": redact_text(message)}
        details: dict[str, Any] = {"reason": redact_text(reason), "accepted": False, "refusals": [refusal]}
        self._record(viewer.actor, action, f"stop:camera:{camera_id}", details)
        raise NotVisibleError(message)

    def _switched(self, outcome: Outcome, camera_id: str | None) -> StopSwitch:
        if not outcome.accepted:
            raise GovernanceRefusedError(outcome.refusals)
        found = next((s for s in self._store.stops() if s.camera_id == camera_id), None)
        if found is None:  # the service just wrote it
            raise LookupError(f"the stop switch of {camera_id or 'every camera'} cannot be read back")
        return found

    def _hidden(self, viewer: Principal, target: str, stage: str, message: str, details: dict[str, Any]) -> None:
        """Audit a refusal answered as "not found" (another tenant's thing, or nothing), like the rules' refusals."""
        refusal = {"code": "not_visible", "message": redact_text(message)}
        self._record(
            viewer.actor, AuditAction.ACTIVATION_REFUSED, target, {**details, "stage": stage, "refusals": [refusal]}
        )

    def _record(self, actor: str, action: AuditAction, target: str, details: dict[str, Any]) -> None:
        self._audit.append(AuditEvent(actor=actor, action=action, target=target, details=details, at=self._clock()))


def _role(viewer: Principal, allowed: frozenset[str], what: str) -> str:
    role = viewer.role_for(allowed)
    if role is None:
        raise AccessDeniedError(f"only {', '.join(sorted(allowed))} may {what}")
    return role


def _not_visible(activation_id: int) -> str:
    return f"no activation {activation_id} among the activations you may see"


def _seen_by_tenant(viewer: Principal, tenant: str, camera_ids: Sequence[str]) -> bool:
    return viewer.sees_commune(tenant) or any(viewer.sees_camera(c) for c in camera_ids)


def _seen_by(viewer: Principal, item: ActivationStatus) -> ActivationStatus | None:
    """The activation as ``viewer`` may see it: None when it is of a tenant they do not see; otherwise with the
    cameras of its perimeter they do not see left out (possible only after a camera moved to another tenant)."""
    activation = item.activation
    if not _seen_by_tenant(viewer, activation.tenant, activation.camera_ids):
        return None
    cameras = tuple(viewer.visible_cameras(activation.camera_ids))
    if cameras == activation.camera_ids:
        return item
    return replace(item, activation=replace(activation, camera_ids=cameras))
