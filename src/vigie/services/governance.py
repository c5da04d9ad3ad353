"""Governance use cases: request, approve and revoke activations, engage and release stop switches, and say
what stands where (L21–L24, L29).

Every call leaves an audit entry (L11) — refusals too, with their reasons — before it returns; an audit failure
raises, and nothing is written to the store before the checks passed. Free text (purposes, reasons) goes
through credential redaction before it reaches the audit details.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from vigie.config.models import VigieConfig
from vigie.domain.activation import Activation, ActivationRequest, Approval, Revocation, StopSwitch
from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction, AuditEvent, AuditRecord
from vigie.domain.ports import AuditSink
from vigie.domain.redact import redact_text
from vigie.governance.activation import (
    APPROVER_ROLES,
    ActivationState,
    Refusal,
    activation_state,
    approval_refusals,
    effective_end,
    validate_request,
)
from vigie.governance.catalogue import Catalogue
from vigie.governance.seal import Sealer, SealVerifier, activation_payload, approval_payload

AuditEntry = Callable[[int], AuditRecord | None]
"""The audit entry of that seq, or None."""
AccountRoles = Callable[[str], frozenset[str] | None]
"""The roles of the active account of that name, or None when no such account can act (unknown, disabled)."""


class GovernanceStore(Protocol):
    """What the service needs from storage (implemented by ``vigie.storage.SqlGovernanceStore``)."""

    def add_activation(
        self, request: ActivationRequest, at: datetime, seal: Callable[[Activation], str] | None = None
    ) -> Activation: ...
    def get_activation(self, activation_id: int) -> Activation | None: ...
    def list_activations(self, *, ending_after: datetime | None = None) -> Sequence[Activation]: ...
    def add_approval(self, activation_id: int, by: str, role: str, at: datetime, seal: str = "") -> Approval: ...
    def approvals(self, activation_ids: Iterable[int]) -> Sequence[Approval]: ...
    def add_revocation(self, activation_id: int, by: str, role: str, reason: str, at: datetime) -> Revocation: ...
    def revocations(self, activation_ids: Iterable[int]) -> Mapping[int, Revocation]: ...
    def set_stop(
        self, camera_id: str | None, *, engaged: bool, by: str, role: str, reason: str, at: datetime
    ) -> StopSwitch: ...
    def stops(self) -> Sequence[StopSwitch]: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a governance call did: accepted, or refused with reasons a person can act on."""

    accepted: bool
    activation_id: int | None = None
    state: ActivationState | None = None
    refusals: tuple[Refusal, ...] = ()

    @property
    def message(self) -> str:
        return "; ".join(r.message for r in self.refusals)


@dataclass(frozen=True, slots=True)
class ActivationStatus:
    activation: Activation
    state: ActivationState
    approvals: tuple[Approval, ...]
    revocation: Revocation | None
    runs_until: datetime | None
    """The activation's end cut at its framework's statutory end (None: unknown framework, never runs)."""
    unverified: str | None = None
    """Why its seals do not verify (state ``unverified``), or None."""


@dataclass(frozen=True, slots=True)
class GovernanceStatus:
    at: datetime
    activations: tuple[ActivationStatus, ...]
    global_stop: StopSwitch | None
    """The global switch when engaged."""
    camera_stops: tuple[StopSwitch, ...]
    """Engaged per-camera switches."""

    @property
    def active(self) -> tuple[ActivationStatus, ...]:
        return tuple(a for a in self.activations if a.state is ActivationState.ACTIVE)


class GovernanceService:
    def __init__(
        self,
        store: GovernanceStore,
        catalogue: Catalogue,
        config: VigieConfig,
        audit: AuditSink,
        clock: Callable[[], datetime],
        *,
        sealer: Sealer,
        verifier: SealVerifier,
        accounts: AccountRoles,
        audit_entry: AuditEntry,
        readiness: Callable[[ActivationRequest], list[Refusal]] | None = None,
    ) -> None:
        """``sealer`` signs each activation and approval recorded, ``verifier`` checks the seals of what is read
        back (a row written around this service is ``unverified`` and never runs); ``accounts`` says which roles
        an account holds, so that requesters and approvers are existing, active accounts in the role they act in;
        ``audit_entry`` reads the calibration run a request names (L32).
        ``readiness`` adds what the module itself needs on the perimeter's cameras (its settings, a detection
        model, an approved model file): the runtime knows the modules, the governance layer does not."""
        self._store = store
        self._catalogue = catalogue
        self._config = config
        self._audit = audit
        self._clock = clock
        self._sealer = sealer
        self._verifier = verifier
        self._accounts = accounts
        self._audit_entry = audit_entry
        self._readiness = readiness

    def request(self, request: ActivationRequest) -> Outcome:
        """Record a request if the catalogue, the configuration and the dates allow it; it then awaits two
        approvals."""
        now = self._clock()
        refusals = validate_request(request, self._catalogue, self._config, now)
        refusals.extend(self._account_refusals(request.requested_by, request.requested_role, "request"))
        refusals.extend(self._calibration_refusals(request))
        if self._readiness is not None:
            refusals.extend(self._readiness(request))
        details = _request_details(request)
        if refusals:
            self._refused(request.requested_by, f"activation-request:{request.module}", "request", refusals, details)
            return Outcome(False, refusals=tuple(refusals))
        record = self._store.add_activation(request, now, lambda a: self._sealer.seal(activation_payload(a)))
        details["seal"] = record.seal
        self._record(request.requested_by, AuditAction.ACTIVATION_REQUESTED, f"activation:{record.id}", details, now)
        return Outcome(True, record.id, ActivationState.REQUESTED)

    def approve(self, activation_id: int, by: Actor) -> Outcome:
        """Add ``by``'s approval; the activation takes effect once two people in two roles approved."""
        now = self._clock()
        target = f"activation:{activation_id}"
        activation = self._store.get_activation(activation_id)
        if activation is None:
            refusal = Refusal("unknown_activation", f"there is no activation {activation_id}")
            self._refused(by.name, target, "approval", [refusal], {"role": by.role})
            return Outcome(False, activation_id, refusals=(refusal,))
        approvals = list(self._store.approvals([activation_id]))
        revocation = self._store.revocations([activation_id]).get(activation_id)
        revoked_at = None if revocation is None else revocation.at
        refusals = approval_refusals(activation, approvals, by, revoked_at, now)
        refusals.extend(self._account_refusals(by.name, by.role, "approve"))
        unverified = self._verifier.unverified_reason(activation, approvals)
        if unverified is not None:
            refusals.append(Refusal("unverified_activation", f"activation {activation_id}: {unverified}"))
        if refusals:
            self._refused(by.name, target, "approval", refusals, {"role": by.role})
            return Outcome(
                False, activation_id, activation_state(activation, approvals, revoked_at, now), tuple(refusals)
            )
        approval = Approval(activation_id, by.name, by.role, now)
        seal = self._sealer.seal(approval_payload(approval, activation.seal))
        approvals.append(self._store.add_approval(activation_id, by.name, by.role, now, seal))
        state = activation_state(activation, approvals, revoked_at, now)
        details = {"role": by.role, "approvals": len(approvals), "state": state.value, "seal": seal}
        self._record(by.name, AuditAction.ACTIVATION_APPROVED, target, details, now)
        return Outcome(True, activation_id, state)

    def revoke(self, activation_id: int, by: Actor, reason: str) -> Outcome:
        """Revoke an activation at once, whatever its state; the gate closes within a second."""
        now = self._clock()
        target = f"activation:{activation_id}"
        activation = self._store.get_activation(activation_id)
        refusal: Refusal | None = None
        if activation is None:
            refusal = Refusal("unknown_activation", f"there is no activation {activation_id}")
        elif not reason.strip():
            refusal = Refusal("missing_reason", "say why the activation is revoked")
        elif activation_id in self._store.revocations([activation_id]):
            refusal = Refusal("already_revoked", f"activation {activation_id} is already revoked")
        elif account := self._account_refusals(by.name, by.role, "revoke"):
            refusal = account[0]
        if refusal is not None or activation is None:
            refusals = (refusal,) if refusal is not None else ()
            self._refused(by.name, target, "revocation", list(refusals), {"role": by.role})
            return Outcome(False, activation_id, refusals=refusals)
        self._store.add_revocation(activation_id, by.name, by.role, reason, now)
        details = {"role": by.role, "reason": redact_text(reason)}
        self._record(by.name, AuditAction.ACTIVATION_REVOKED, target, details, now)
        return Outcome(True, activation_id, ActivationState.REVOKED)

    def engage_stop(self, camera_id: str | None, by: Actor, reason: str) -> Outcome:
        """Stop every module on one camera, or everywhere (``camera_id`` None), until released (L29)."""
        return self._set_stop(camera_id, by, reason, engaged=True)

    def release_stop(self, camera_id: str | None, by: Actor, reason: str) -> Outcome:
        """Release a stop switch; only an approving role (dpo, authority) may, so a stop is never lifted lightly."""
        return self._set_stop(camera_id, by, reason, engaged=False)

    def status(self, now: datetime | None = None) -> GovernanceStatus:
        """Every activation with its state at ``now`` (default: the clock), and the engaged stop switches."""
        at = self._clock() if now is None else now
        activations = self._store.list_activations()
        ids = [a.id for a in activations]
        approvals = self._store.approvals(ids)
        revocations = self._store.revocations(ids)
        statuses = []
        for activation in activations:
            mine = tuple(a for a in approvals if a.activation_id == activation.id)
            revocation = revocations.get(activation.id)
            revoked_at = None if revocation is None else revocation.at
            state = activation_state(activation, mine, revoked_at, at)
            runs_until = effective_end(activation, self._catalogue)
            if state is ActivationState.ACTIVE and (runs_until is None or at >= runs_until):
                state = ActivationState.EXPIRED
            unverified = self._verifier.unverified_reason(activation, list(mine))
            if unverified is not None and state is not ActivationState.REVOKED:
                state = ActivationState.UNVERIFIED
            statuses.append(ActivationStatus(activation, state, mine, revocation, runs_until, unverified))
        engaged = [s for s in self._store.stops() if s.engaged]
        global_stop = next((s for s in engaged if s.camera_id is None), None)
        return GovernanceStatus(at, tuple(statuses), global_stop, tuple(s for s in engaged if s.camera_id))

    def _set_stop(self, camera_id: str | None, by: Actor, reason: str, *, engaged: bool) -> Outcome:
        now = self._clock()
        action = AuditAction.STOP_ENGAGED if engaged else AuditAction.STOP_RELEASED
        target = "stop:global" if camera_id is None else f"stop:camera:{camera_id}"
        details: dict[str, Any] = {"role": by.role, "reason": redact_text(reason)}
        refusals = self._stop_refusals(camera_id, by, reason, engaged=engaged)
        if refusals:
            self._record(by.name, action, target, {**details, "accepted": False, "refusals": _listed(refusals)}, now)
            return Outcome(False, refusals=tuple(refusals))
        self._store.set_stop(camera_id, engaged=engaged, by=by.name, role=by.role, reason=reason, at=now)
        self._record(by.name, action, target, {**details, "accepted": True}, now)
        return Outcome(True)

    def _stop_refusals(self, camera_id: str | None, by: Actor, reason: str, *, engaged: bool) -> list[Refusal]:
        refusals: list[Refusal] = []
        if camera_id is not None and self._config.find_camera(camera_id) is None:
            refusals.append(Refusal("unknown_camera", f"camera {camera_id!r} is not in the configuration"))
        if not by.name.strip() or not by.role.strip():
            refusals.append(Refusal("missing_actor", "name who acts and in which role"))
        else:
            refusals.extend(self._account_refusals(by.name, by.role, "set stop switches"))
        if not reason.strip():
            refusals.append(Refusal("missing_reason", "say why"))
        if not engaged and by.role not in APPROVER_ROLES:
            refusals.append(
                Refusal("role_cannot_release", f"only {', '.join(sorted(APPROVER_ROLES))} may release a stop switch")
            )
        return refusals

    def _calibration_refusals(self, request: ActivationRequest) -> list[Refusal]:
        """The calibration run a request names must be one, of this module, on one of its cameras (L32)."""
        seq = request.calibration_seq
        if seq is None:
            return []
        record = self._audit_entry(seq)
        if record is None or record.action != AuditAction.ANALYSIS_CALIBRATION:
            return [
                Refusal(
                    "unknown_calibration",
                    f"audit entry {seq} is not a calibration run: give the number `vigie calibrate --config …` printed",
                )
            ]
        module, camera = record.details.get("module"), record.details.get("camera")
        if module != request.module:
            return [
                Refusal(
                    "calibration_of_other_module", f"calibration run {seq} is of {module!r}, not {request.module!r}"
                )
            ]
        if camera is not None and camera not in request.camera_ids:
            return [
                Refusal("calibration_of_other_camera", f"calibration run {seq} was on camera {camera!r}, not covered")
            ]
        return []

    def _account_refusals(self, name: str, role: str, what: str) -> list[Refusal]:
        """The person must be an existing, active account holding the role they act in (never a free name)."""
        roles = self._accounts(name)
        if roles is None:
            return [Refusal("unknown_account", f"{name!r} is not an active account: only accounts may {what}")]
        if role not in roles:
            held = ", ".join(sorted(roles)) or "none"
            return [Refusal("role_not_held", f"account {name!r} does not hold the role {role!r} (holds: {held})")]
        return []

    def _refused(
        self, actor: str, target: str, stage: str, refusals: Sequence[Refusal], details: Mapping[str, Any]
    ) -> None:
        payload = {**details, "stage": stage, "refusals": _listed(refusals)}
        self._record(actor, AuditAction.ACTIVATION_REFUSED, target, payload, self._clock())

    def _record(self, actor: str, action: AuditAction, target: str, details: Mapping[str, Any], at: datetime) -> None:
        self._audit.append(AuditEvent(actor=actor, action=action, target=target, details=dict(details), at=at))


def _listed(refusals: Iterable[Refusal]) -> list[dict[str, str]]:
    return [{"code": r.code, "message": redact_text(r.message)} for r in refusals]


def _request_details(request: ActivationRequest) -> dict[str, Any]:
    return {
        "tenant": request.tenant,
        "module": request.module,
        "cameras": list(request.camera_ids),
        "zones": list(request.zone_ids),
        "framework": request.framework,
        "decision_number": redact_text(request.decision_number),
        "decision_date": None if request.decision_date is None else request.decision_date.isoformat(),
        "dpia_reference": redact_text(request.dpia_reference),
        "purpose": redact_text(request.purpose),
        "starts_at": _iso(request.starts_at),
        "ends_at": _iso(request.ends_at),
        "requested_role": request.requested_role,
        "calibration_seq": request.calibration_seq,
    }


def _iso(at: datetime) -> str:
    return at.isoformat()
