"""Activations: a module on some cameras, under a recorded legal basis, for a bounded time (L21–L24, L29).

Everything here is a pure function of its inputs (the catalogue, the configuration, the records, ``now``): no
I/O, no clock. A request is checked by :func:`validate_request`; it takes effect only after two different
people holding two different approving roles have approved it, neither being the requester; it can be
revoked at any time; its state is :func:`activation_state`.

The records themselves (:class:`~vigie.domain.activation.ActivationRequest`, ``Activation``, ``Approval``,
``StopSwitch``...) are plain values of ``vigie.domain.activation``, shared with the storage layer;
``ActivationRequest`` and ``Approval`` are re-exported here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from vigie.config.models import CameraPlacement, CommuneKind, VigieConfig
from vigie.domain.activation import Activation, ActivationRequest, Approval, StopSwitch
from vigie.domain.actor import COMMAND_LINE_PREFIX, Actor
from vigie.governance.catalogue import Catalogue, Framework, forbidden_reason

APPROVER_ROLES: Final = frozenset({"dpo", "authority"})
"""Roles whose holders may approve: the data protection officer and the authority (the mayor, or the prefect's
delegate for a state tenant). Two different people holding two different of these roles are needed."""

REQUIRED_APPROVALS: Final = 2


class ActivationState(enum.StrEnum):
    REQUESTED = "requested"
    """Recorded, waiting for its two approvals."""
    APPROVED_PENDING_START = "approved_pending_start"
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNVERIFIED = "unverified"
    """Its record or an approval does not carry a valid seal of the governance service (written around it, e.g.
    straight into the database): it never runs, whatever the rows say (``vigie.governance.seal``)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why something was refused, worded for the person who must fix it. ``code`` is stable for programs."""

    code: str
    message: str


def same_person(a: str, b: str) -> bool:
    """Names compared as people would: case, surrounding and repeated spaces and a ``cli:`` prefix ignored."""
    return _person(a) == _person(b)


def _person(name: str) -> str:
    name = " ".join(name.split()).casefold()
    return name.removeprefix(COMMAND_LINE_PREFIX)


def validate_request(
    request: ActivationRequest, catalogue: Catalogue, config: VigieConfig, now: datetime
) -> list[Refusal]:
    """Every reason to refuse ``request`` at ``now``; an empty list means it can be recorded."""
    refusals = [*_basis_refusals(request, now), *_time_refusals(request, catalogue, now)]
    refusals.extend(perimeter_refusals(request, catalogue, config))
    return refusals


def perimeter_refusals(request: ActivationRequest, catalogue: Catalogue, config: VigieConfig) -> list[Refusal]:
    """What the module, framework, tenant and cameras forbid (no dates): also re-checked by the gate, so an
    activation stops when the configuration no longer allows it (a camera moved to another setting...)."""
    module = catalogue.module(request.module)
    framework = catalogue.framework(request.framework)
    refusals: list[Refusal] = []
    if module is None:
        reason = forbidden_reason(request.module)
        extra = f"; it is forbidden in the build by {reason}" if reason else ""
        known = ", ".join(m.id for m in catalogue.modules)
        refusals.append(Refusal("unknown_module", f"unknown module {request.module!r}{extra}; known: {known}"))
    if framework is None:
        known = ", ".join(f.id for f in catalogue.frameworks)
        refusals.append(Refusal("unknown_framework", f"unknown legal framework {request.framework!r}; known: {known}"))
    if module is not None and framework is not None and framework.id not in module.frameworks:
        refusals.append(
            Refusal(
                "framework_does_not_authorise",
                f"framework {framework.id!r} does not authorise module {module.id!r}; it can be authorised only "
                f"by: {', '.join(module.frameworks)}",
            )
        )
    commune = next((c for c in config.communes if c.id == request.tenant), None)
    if commune is None:
        refusals.append(Refusal("unknown_tenant", f"unknown tenant {request.tenant!r}: use a commune id of the file"))
        return refusals
    if module is not None and commune.kind not in module.tenant_kinds:
        refusals.append(
            Refusal(
                "module_not_for_tenant",
                f"module {module.id!r} is not available to {commune.kind.value} tenants such as {commune.id!r}"
                + (" (CSI L233-1, L34)" if commune.kind is CommuneKind.MUNICIPAL else ""),
            )
        )
    if framework is not None and commune.kind not in framework.tenant_kinds:
        refusals.append(
            Refusal(
                "framework_not_for_tenant",
                f"framework {framework.id!r} does not apply to {commune.kind.value} tenants such as {commune.id!r}",
            )
        )
    refusals.extend(_camera_refusals(request, config, framework, catalogue))
    return refusals


def _camera_refusals(
    request: ActivationRequest, config: VigieConfig, framework: Framework | None, catalogue: Catalogue
) -> list[Refusal]:
    if not request.camera_ids:
        return [Refusal("no_camera", "name at least one camera the activation covers")]
    refusals: list[Refusal] = []
    placements: list[CameraPlacement] = []
    for camera_id in request.camera_ids:
        placement = config.find_camera(camera_id)
        if placement is None:
            refusals.append(Refusal("unknown_camera", f"camera {camera_id!r} is not in the configuration"))
        elif placement.commune.id != request.tenant:
            refusals.append(
                Refusal(
                    "camera_of_other_tenant",
                    f"camera {camera_id!r} belongs to {placement.commune.id!r}, not to {request.tenant!r}",
                )
            )
        else:
            placements.append(placement)
    for placement in placements:
        setting = placement.camera.setting
        if framework is not None and setting not in framework.settings:
            possible = catalogue.frameworks_for(request.module, setting, placement.commune.kind)
            alternatives = (
                f"frameworks that could: {', '.join(f.id for f in possible)}"
                if possible
                else f"no framework authorises {request.module!r} on {setting.value} cameras"
            )
            refusals.append(
                Refusal(
                    "setting_not_covered",
                    f"camera {placement.camera.id!r} is a {setting.value} camera, which "
                    f"framework {framework.id!r} does not cover; {alternatives}",
                )
            )
    known_zones = {zone.id for p in placements for zone in p.camera.zones if zone.kind != "privacy_mask"}
    for zone_id in request.zone_ids:
        if zone_id not in known_zones:
            refusals.append(Refusal("unknown_zone", f"zone {zone_id!r} is not an analysis zone of these cameras"))
    return refusals


def _basis_refusals(request: ActivationRequest, now: datetime) -> list[Refusal]:
    refusals: list[Refusal] = []
    if not request.decision_number.strip():
        refusals.append(Refusal("missing_decision", "give the number of the prefectoral decision (L22)"))
    if request.decision_date is None:
        refusals.append(Refusal("missing_decision_date", "give the date of the prefectoral decision (L22)"))
    elif request.decision_date > now.date():
        refusals.append(Refusal("decision_in_future", f"the decision date {request.decision_date} is in the future"))
    if not request.dpia_reference.strip():
        refusals.append(Refusal("missing_dpia", "give the reference of the data protection impact assessment (L21)"))
    if not request.purpose.strip():
        refusals.append(Refusal("missing_purpose", "say what the activation is for"))
    if not request.requested_by.strip() or not request.requested_role.strip():
        refusals.append(Refusal("missing_requester", "name the requester and their role"))
    return refusals


def _time_refusals(request: ActivationRequest, catalogue: Catalogue, now: datetime) -> list[Refusal]:
    if request.starts_at.tzinfo is None or request.ends_at.tzinfo is None:
        return [Refusal("naive_time", "give start and end with a time zone (e.g. 2026-03-01T08:00+01:00)")]
    refusals: list[Refusal] = []
    if request.starts_at >= request.ends_at:
        refusals.append(
            Refusal(
                "start_not_before_end",
                f"start {request.starts_at.isoformat()} is not before end {request.ends_at.isoformat()}",
            )
        )
    if request.ends_at <= now:
        refusals.append(Refusal("end_in_past", f"end {request.ends_at.isoformat()} is already past"))
    framework = catalogue.framework(request.framework)
    end = framework.ends_at if framework is not None else None
    if framework is not None and end is not None:
        if now >= end:
            refusals.append(
                Refusal(
                    "framework_ended",
                    f"framework {framework.id!r} ended on {framework.ends_on}; nothing can "
                    "be activated under it any more",
                )
            )
        elif request.ends_at > end:
            refusals.append(
                Refusal(
                    "end_after_framework",
                    f"end {request.ends_at.isoformat()} is after the statutory end of "
                    f"framework {framework.id!r} ({framework.ends_on}, L23); end it by then",
                )
            )
    return refusals


def is_approved(activation: Activation, approvals: Iterable[Approval]) -> bool:
    """Two approvals by two different people in two different approving roles, neither the requester."""
    valid = [
        a
        for a in approvals
        if a.activation_id == activation.id
        and a.role in APPROVER_ROLES
        and not same_person(a.by, activation.requested_by)
    ]
    return any(not same_person(a.by, b.by) and a.role != b.role for i, a in enumerate(valid) for b in valid[i + 1 :])


def approval_refusals(
    activation: Activation,
    approvals: Sequence[Approval],
    approver: Actor,
    revoked_at: datetime | None,
    now: datetime,
) -> list[Refusal]:
    """Why ``approver`` cannot approve ``activation`` now; an empty list means the approval can be recorded."""
    state = activation_state(activation, approvals, revoked_at, now)
    if state in (ActivationState.REVOKED, ActivationState.EXPIRED):
        return [
            Refusal(f"activation_{state.value}", f"activation {activation.id} is {state.value}: nothing to approve")
        ]
    if state is not ActivationState.REQUESTED:
        return [Refusal("already_approved", f"activation {activation.id} already has its two approvals")]
    refusals: list[Refusal] = []
    if approver.role not in APPROVER_ROLES:
        refusals.append(
            Refusal(
                "role_cannot_approve",
                f"role {approver.role!r} cannot approve; approving roles: {', '.join(sorted(APPROVER_ROLES))}",
            )
        )
    if same_person(approver.name, activation.requested_by):
        refusals.append(Refusal("requester_cannot_approve", "the requester cannot approve their own request"))
    mine = [a for a in approvals if a.activation_id == activation.id]
    if any(same_person(a.by, approver.name) for a in mine):
        refusals.append(
            Refusal(
                "same_person_twice",
                f"{approver.name} has already approved activation {activation.id}; "
                "a second, different person must approve",
            )
        )
    if any(a.role == approver.role for a in mine):
        refusals.append(
            Refusal(
                "same_role_twice",
                f"role {approver.role!r} has already approved activation {activation.id}; "
                "the second approval must come from another role",
            )
        )
    return refusals


def activation_state(
    activation: Activation,
    approvals: Iterable[Approval],
    revoked_at: datetime | None,
    now: datetime,
) -> ActivationState:
    """Where an activation stands at ``now``. Revocation wins; then the end; then the two approvals."""
    if revoked_at is not None and revoked_at <= now:
        return ActivationState.REVOKED
    if now >= activation.ends_at:
        return ActivationState.EXPIRED
    if not is_approved(activation, approvals):
        return ActivationState.REQUESTED
    if now < activation.starts_at:
        return ActivationState.APPROVED_PENDING_START
    return ActivationState.ACTIVE


def effective_end(activation: Activation, catalogue: Catalogue) -> datetime | None:
    """When the activation stops at the latest: its end, cut at its framework's statutory end (L23).

    None when the framework is unknown: such an activation never runs.
    """
    framework = catalogue.framework(activation.framework)
    if framework is None:
        return None
    end = framework.ends_at
    return activation.ends_at if end is None else min(activation.ends_at, end)


def engaged_stops(stops: Iterable[StopSwitch]) -> tuple[bool, frozenset[str]]:
    """Whether the global stop is engaged, and the cameras whose own stop is engaged."""
    engaged = [s for s in stops if s.engaged]
    return any(s.camera_id is None for s in engaged), frozenset(s.camera_id for s in engaged if s.camera_id)
