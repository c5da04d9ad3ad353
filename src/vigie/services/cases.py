"""Cases (issue 22): an investigation opened from a judicial requisition, the only frame in which recordings are
searched after the fact.

In France an algorithmic search of recordings is lawful within a judicial investigation — a requisition from an
officer of judicial police or a magistrate, for a case, over given cameras and a given period — not as a standing
index of everyone. So a case carries its requisition (reference, authority, date, purpose) and its **scope**: the
cameras (each one the investigator may see, L10) and a period (ended, at most :data:`MAX_CASE_PERIOD`).
:meth:`CaseService.require_in_scope` is what every search of a case asks first: a camera or a time outside the
scope, or a closed case, is refused and the refusal audited (``access.denied``).

Everything is audited (L11): ``case.opened``, ``case.read`` (the list, or one case), ``case.holds_placed`` (with a
``hold.placed`` per hold, by the hold service), ``case.closed`` (the decision about the holds: lifted or kept; and
what the close steps did: ``results_purged``, the counts of search results deleted with the case).
A case is read by the people of its commune with ``read_cases`` (investigators, the DPO, auditors); another
commune's case answers like one that does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime

from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.cases import MAX_CASE_CAMERAS, MAX_CASE_PERIOD, AuthorityKind, Case, CaseRepo, HoldDecision
from vigie.domain.clock import LEGAL_TIME_ZONE
from vigie.domain.ports import AuditSink
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal
from vigie.services.holds import HoldRefusedError, HoldService

__all__ = [
    "CaseClosedError",
    "CaseConflictError",
    "CaseRefusedError",
    "CaseService",
    "CasesUnavailableError",
    "CloseStep",
    "OutOfScopeError",
]


log = logging.getLogger(__name__)

CloseStep = Callable[[Case], Mapping[str, object]]
"""Something done once a case is closed (its search results purged); answers details for ``case.closed``."""


class CaseRefusedError(ValueError):
    """The case cannot be opened or closed as asked; the message names the field and what to fix."""


class CaseClosedError(Exception):
    """The case is closed: nothing more may be done under it."""


class CaseConflictError(Exception):
    """The action was already done for this case (holds already placed)."""


class OutOfScopeError(Exception):
    """A camera or a time outside the case's scope: no search of it is lawful under this case."""


class CasesUnavailableError(Exception):
    """This server places no holds (it has no recordings)."""


class CaseService:
    """Opening, reading and closing cases, and the scope check of every search made under one."""

    def __init__(
        self,
        cases: CaseRepo,
        audit: AuditSink,
        clock: Callable[[], datetime],
        *,
        holds: HoldService | None = None,
    ) -> None:
        """``holds``: the hold service on the segment index (None: a server without recordings; placing holds
        answers :class:`CasesUnavailableError`)."""
        self._cases, self._audit, self._clock, self._holds = cases, audit, clock, holds
        self._close_steps: list[CloseStep] = []

    def on_close(self, step: CloseStep) -> None:
        """Run ``step`` with each case once it is closed (the runtime adds the purge of the case's search
        results); what it answers is written into ``case.closed``. A step that fails is logged and written there
        as ``close_step_failed``: the case is closed all the same."""
        self._close_steps.append(step)

    # --- opening -----------------------------------------------------------------------------------------------

    def open(
        self,
        principal: Principal,
        *,
        reference: str,
        requisition_ref: str,
        authority: str,
        authority_kind: AuthorityKind,
        requisition_date: date,
        purpose: str,
        camera_ids: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> Case:
        """Open a case for ``principal``'s commune. Raises :class:`CaseRefusedError` (a blank field, a bad period),
        :class:`NotVisibleError` (a camera the person may not see, audited ``access.denied``)."""
        principal.require(Permission.MANAGE_CASES)
        fields = {
            "reference": reference,
            "requisition_ref": requisition_ref,
            "authority": authority,
            "purpose": purpose,
        }
        missing = [name for name, value in fields.items() if not value.strip()]
        if missing:
            raise CaseRefusedError(
                f"{', '.join(missing)} must not be blank: a case is opened from a judicial requisition, whose "
                "reference, authority and purpose it records"
            )
        cameras = list(dict.fromkeys(c.strip() for c in camera_ids))
        if not cameras or len(cameras) > MAX_CASE_CAMERAS or any(not c for c in cameras):
            raise CaseRefusedError(f"camera_ids: give 1 to {MAX_CASE_CAMERAS} camera ids, none blank")
        for camera in cameras:
            if not principal.sees_camera(camera):
                self._deny(principal, "case:new", camera, "camera not among those this person may see")
                raise NotVisibleError(f"no camera {camera!r} among the cameras you may see")
        now = self._clock()
        _check_period(start, end, now)
        today = now.astimezone(LEGAL_TIME_ZONE).date()
        if requisition_date > today:
            raise CaseRefusedError(
                f"requisition_date {requisition_date.isoformat()} is in the future (today is {today.isoformat()})"
            )
        case = self._cases.add(
            Case(
                commune_id=principal.user.commune_id,
                reference=reference.strip(),
                requisition_ref=requisition_ref.strip(),
                authority=authority.strip(),
                authority_kind=authority_kind,
                requisition_date=requisition_date,
                purpose=purpose.strip(),
                camera_ids=tuple(cameras),
                start=start,
                end=end,
                opened_by=principal.actor,
                opened_at=now,
            )
        )
        self._audit.append(AuditEvent(principal.actor, AuditAction.CASE_OPENED, _target(case), _describe(case), at=now))
        return case

    # --- reading -----------------------------------------------------------------------------------------------

    def list_for(self, principal: Principal, *, limit: int = 100, offset: int = 0) -> list[Case]:
        """The cases of the person's commune, newest first (audited ``case.read``)."""
        principal.require(Permission.READ_CASES)
        found = self._cases.list(principal.user.commune_id, limit=limit, offset=offset)
        details = {"resource": "list", "commune_id": principal.user.commune_id, "cases": len(found)}
        self._audit.append(AuditEvent(principal.actor, AuditAction.CASE_READ, "cases", details, at=self._clock()))
        return found

    def get_for(self, principal: Principal, case_id: int) -> Case:
        """One case of the person's commune (audited ``case.read``); another commune's answers like none."""
        principal.require(Permission.READ_CASES)
        case = self._visible(principal, case_id)
        self._audit.append(
            AuditEvent(principal.actor, AuditAction.CASE_READ, _target(case), {"resource": "case"}, at=self._clock())
        )
        return case

    # --- the scope of a search ---------------------------------------------------------------------------------

    def require_in_scope(
        self, principal: Principal, case_id: int, camera_id: str, start: datetime, end: datetime
    ) -> Case:
        """The case, when searching ``camera_id`` over [start, end) is within its scope; what every search of the
        recordings calls first. Raises :class:`NotVisibleError` (no such case in the person's commune),
        :class:`CaseClosedError`, :class:`OutOfScopeError` (a camera, or a time, outside the scope, or a camera
        the person may no longer see); each refusal audited ``access.denied``."""
        principal.require(Permission.MANAGE_CASES)
        case = self._visible(principal, case_id)
        target = _target(case)
        asked = {"camera_id": camera_id, "start": _time(start), "end": _time(end)}
        if not case.is_open:
            self._deny(principal, target, camera_id, "the case is closed", asked)
            raise CaseClosedError(f"case {case.id} ({case.reference}) is closed: no search may be made under it")
        if camera_id not in case.camera_ids or not principal.sees_camera(camera_id):
            self._deny(principal, target, camera_id, "camera outside the case's scope", asked)
            raise OutOfScopeError(
                f"camera {camera_id!r} is not in the scope of case {case.id} ({case.reference}): its cameras are "
                f"{', '.join(case.camera_ids)}; a camera out of the requisition needs another case"
            )
        if not _is_aware(start) or not _is_aware(end) or not start < end or start < case.start or end > case.end:
            self._deny(principal, target, camera_id, "period outside the case's scope", asked)
            raise OutOfScopeError(
                f"the period {_time(start)} to {_time(end)} is not within the scope of case {case.id} "
                f"({case.reference}): from {format_time(case.start)} to {format_time(case.end)}, with time zones"
            )
        return case

    def require_visible(self, principal: Principal, case_id: int) -> Case:
        """The case, when it is one of the person's commune (else :class:`NotVisibleError`, audited when it exists).
        Permissions are the caller's to check."""
        return self._visible(principal, case_id)

    def require_open_case(self, principal: Principal, case_id: int) -> Case:
        """The case, when the person may search under it now: ``manage_cases``, of their commune, open (else
        :class:`CaseClosedError`, audited ``access.denied``)."""
        principal.require(Permission.MANAGE_CASES)
        case = self._visible(principal, case_id)
        if not case.is_open:
            self._deny(principal, _target(case), None, "the case is closed")
            raise CaseClosedError(f"case {case.id} ({case.reference}) is closed: no search may be made under it")
        return case

    # --- holds and closing -------------------------------------------------------------------------------------

    def place_holds(self, principal: Principal, case_id: int) -> Case:
        """Place a hold (L4) on every camera of the case's scope over its period, linked to the case. Raises
        :class:`CaseClosedError`, :class:`CaseConflictError` (the case already has its holds),
        :class:`CasesUnavailableError` (no recordings on this server)."""
        principal.require(Permission.MANAGE_CASES)
        case = self._visible(principal, case_id)
        if not case.is_open:
            raise CaseClosedError(f"case {case.id} ({case.reference}) is closed: no hold may be placed under it")
        if case.hold_ids:
            raise CaseConflictError(f"case {case.id} already has its holds: {', '.join(map(str, case.hold_ids))}")
        if self._holds is None:
            raise CasesUnavailableError("this server has no recordings: no hold can be placed")
        for camera in case.camera_ids:  # a sharing agreement may have ended since the case was opened
            self.require_in_scope(principal, case_id, camera, case.start, case.end)
        actor = Actor(principal.actor, commune_id=principal.user.commune_id)
        placed = [
            self._holds.place(
                camera,
                case.start,
                case.end,
                requisition_ref=case.requisition_ref,
                case_number=case.reference,
                officer=case.authority,
                by=actor,
            )
            for camera in case.camera_ids
        ]
        hold_ids = [h.id for h in placed if h.id is not None]
        case = self._cases.add_holds(_id(case), hold_ids)
        details = {"hold_ids": hold_ids, "camera_ids": list(case.camera_ids)}
        self._audit.append(
            AuditEvent(principal.actor, AuditAction.CASE_HOLDS_PLACED, _target(case), details, at=self._clock())
        )
        return case

    def close(self, principal: Principal, case_id: int, *, decision: HoldDecision, reason: str) -> Case:
        """Close the case with a decision about its holds: ``lifted`` lifts them (each audited ``hold.lifted``),
        ``kept`` leaves them in force. Raises :class:`CaseClosedError` (already closed),
        :class:`CaseRefusedError` (a blank reason)."""
        principal.require(Permission.MANAGE_CASES)
        case = self._visible(principal, case_id)
        if not reason.strip():
            raise CaseRefusedError("reason must not be blank: say why the case closes and why its holds go or stay")
        if not case.is_open:
            raise CaseClosedError(f"case {case.id} ({case.reference}) was already closed by {case.closed_by}")
        lifted: list[int] = []
        if decision is HoldDecision.LIFTED and case.hold_ids:
            if self._holds is None:
                raise CasesUnavailableError("this server has no recordings: the case's holds cannot be lifted here")
            actor = Actor(principal.actor, commune_id=principal.user.commune_id)
            for hold_id in case.hold_ids:
                try:
                    self._holds.lift(hold_id, actor, f"case {case.id} ({case.reference}) closed: {reason.strip()}")
                    lifted.append(hold_id)
                except HoldRefusedError:  # lifted already, on its own: nothing left to do
                    continue
        now = self._clock()
        try:
            case = self._cases.close(_id(case), now, principal.actor, decision, reason.strip())
        except ValueError as err:  # closed meanwhile by someone else
            raise CaseClosedError(str(err)) from err
        details = {
            **_describe(case),
            "decision": decision.value,
            "reason": reason.strip(),
            "holds_lifted": lifted,
            "holds_kept": [h for h in case.hold_ids if h not in lifted],
            **self._after_close(case),
        }
        self._audit.append(AuditEvent(principal.actor, AuditAction.CASE_CLOSED, _target(case), details, at=now))
        return case

    def _after_close(self, case: Case) -> dict[str, object]:
        out: dict[str, object] = {}
        for step in self._close_steps:
            try:
                out.update(step(case))
            except Exception as err:
                log.exception("a step after closing case %s failed", case.id)
                failed = out.setdefault("close_step_failed", [])
                if isinstance(failed, list):
                    failed.append(f"{type(err).__name__}: {err}")
        return out

    # --- helpers -----------------------------------------------------------------------------------------------

    def _visible(self, principal: Principal, case_id: int) -> Case:
        case = self._cases.get(case_id)
        if case is None or case.commune_id != principal.user.commune_id:
            if case is not None:
                self._deny(principal, _target(case), None, "case of another commune")
            raise NotVisibleError(f"no case {case_id} among your commune's cases")
        return case

    def _deny(
        self,
        principal: Principal,
        target: str,
        camera_id: str | None,
        reason: str,
        asked: dict[str, str] | None = None,
    ) -> None:
        details: dict[str, object] = {"resource": "case", "reason": reason, **(asked or {})}
        if camera_id is not None:
            details["camera_id"] = camera_id
        self._audit.append(AuditEvent(principal.actor, AuditAction.ACCESS_DENIED, target, details, at=self._clock()))


def _check_period(start: datetime, end: datetime, now: datetime) -> None:
    for name, value in (("start", start), ("end", end)):
        if not _is_aware(value):
            raise CaseRefusedError(f"{name} {value.isoformat()} has no time zone: give one, e.g. 2026-11-28T14:00:00Z")
    if not start < end:
        raise CaseRefusedError(f"end ({_time(end)}) must be after start ({_time(start)})")
    if end > now:
        raise CaseRefusedError(
            f"end ({_time(end)}) is in the future: a case searches what was recorded, up to now ({_time(now)})"
        )
    if end - start > MAX_CASE_PERIOD:
        raise CaseRefusedError(
            f"the period from {_time(start)} to {_time(end)} is longer than {MAX_CASE_PERIOD.days} days: a "
            "requisition names a bounded period; open several cases for a longer one"
        )


def _is_aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None


def _time(value: datetime) -> str:
    return format_time(value) if _is_aware(value) else value.isoformat()


def _id(case: Case) -> int:
    if case.id is None:
        raise ValueError("a stored case has an id")
    return case.id


def _target(case: Case) -> str:
    return f"case:{case.id}"


def _describe(case: Case) -> dict[str, object]:
    return {
        "case_id": case.id,
        "reference": case.reference,
        "requisition_ref": case.requisition_ref,
        "authority": case.authority,
        "authority_kind": case.authority_kind.value,
        "requisition_date": case.requisition_date.isoformat(),
        "purpose": case.purpose,
        "camera_ids": list(case.camera_ids),
        "start": format_time(case.start),
        "end": format_time(case.end),
    }
