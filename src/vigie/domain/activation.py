"""Activation records: what was asked, approved, revoked and stopped (L21–L24, L29), as plain values.

These are the one definition of the governance records. ``vigie.governance`` decides with them (validation, the
two-person rule, states, the gate), ``vigie.storage`` writes and reads them back, and ``vigie.services`` passes
them between the two. Nothing here checks or decides anything: a value of these types proves only that someone
wrote it, and the gate re-checks what it reads. Times are timezone-aware wherever storage writes them (storage
refuses naive times; the request's own times are checked by ``vigie.governance.activation.validate_request``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class ActivationRequest:
    """What a requester asks for: a module on cameras (and optionally zones) of one tenant, under a legal basis
    (framework, prefectoral decision, DPIA), from ``starts_at`` (included) to ``ends_at`` (excluded)."""

    tenant: str
    module: str
    camera_ids: tuple[str, ...]
    framework: str
    decision_number: str
    decision_date: date | None
    dpia_reference: str
    purpose: str
    starts_at: datetime
    ends_at: datetime
    requested_by: str
    requested_role: str
    zone_ids: tuple[str, ...] = ()
    calibration_seq: int | None = None
    """The audit entry (``analysis.calibration``) of the on-site calibration run of this module the request is
    based on (L32), or None."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Activation(ActivationRequest):
    """A recorded request: the request's fields as stored, with the id storage gave it and when it was recorded.

    Recording does not make it run: it takes effect only once approved (see :class:`Approval`), and never after
    a :class:`Revocation`, its end, or its framework's statutory end. Storage returns camera and zone ids sorted,
    without repeats.
    """

    id: int
    requested_at: datetime
    seal: str = ""
    """The governance service's signature over this record (``vigie.governance.seal``); empty or wrong on a row
    not written by the service, which the gate then refuses."""


@dataclass(frozen=True, slots=True)
class Approval:
    """One person's approval of activation ``activation_id``, in role ``role``, at ``at``."""

    activation_id: int
    by: str
    role: str
    at: datetime
    seal: str = ""
    """The governance service's signature over this approval and the activation's seal."""


@dataclass(frozen=True, slots=True)
class Revocation:
    """The revocation of activation ``activation_id`` by ``by`` in role ``role``, effective from ``at``.

    An activation has at most one; it wins over every approval."""

    activation_id: int
    by: str
    role: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class StopSwitch:
    """A stop switch's state, or one change of it (L29): ``camera_id`` None is the global switch. While
    ``engaged``, no module runs on that camera (or anywhere, for the global switch)."""

    camera_id: str | None
    engaged: bool
    by: str
    role: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class GovernanceSnapshot:
    """What the gate reads in one go: the activations not ended at the time asked (in any state), their approvals,
    their revocation times by activation id, and the current state of every stop switch.

    Two snapshots read from unchanged records are equal, which lets the gate skip recompiling its rules."""

    activations: tuple[Activation, ...] = ()
    approvals: tuple[Approval, ...] = ()
    revocations: Mapping[int, datetime] = field(default_factory=dict)
    stops: tuple[StopSwitch, ...] = ()
