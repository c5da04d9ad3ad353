"""Placing and lifting judicial or requisition holds (L4), each traced in the audit log (L11).

A hold names the camera, the period, the requisition reference, the case number and the officer who asked for
it; without all three references it is refused, because an unattributable hold would keep footage past its
retention without any legal ground. Lifting needs a person and a reason, and the hold stays on record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from vigie.domain.actor import Actor
from vigie.domain.audit import AuditAction, AuditEvent
from vigie.domain.ports import AuditSink
from vigie.domain.recording import Hold, HoldRepo, SegmentIndex


class HoldRefusedError(ValueError):
    """The hold cannot be placed or lifted as asked; the message says what to fix."""


class HoldNotFoundError(LookupError):
    """No hold has this id."""


class HoldService:
    """Holds over the segment index: the only way holds are placed or lifted, so every change is audited."""

    def __init__(self, index: SegmentIndex, holds: HoldRepo, audit: AuditSink, clock: Callable[[], datetime]) -> None:
        self._index = index
        self._holds = holds
        self._audit = audit
        self._clock = clock

    def place(
        self,
        camera_id: str,
        start: datetime,
        end: datetime,
        *,
        requisition_ref: str,
        case_number: str,
        officer: str,
        by: Actor,
    ) -> Hold:
        """Keep the segments of ``camera_id`` overlapping [start, end) until the hold is lifted.

        Raises :class:`HoldRefusedError` when a reference is missing or the period is empty or naive.
        """
        fields = {
            "camera": camera_id,
            "requisition reference": requisition_ref,
            "case number": case_number,
            "officer": officer,
            "person placing the hold": by.person,
        }
        _require(fields, "a hold needs a camera, a requisition reference, a case number and an officer (L4)")
        _check_period(start, end)
        now = self._clock()
        hold = self._holds.place(
            Hold(
                camera_id=camera_id.strip(),
                start=start,
                end=end,
                requisition_ref=requisition_ref.strip(),
                case_number=case_number.strip(),
                officer=officer.strip(),
                placed_at=now,
                placed_by=by.name.strip(),
            )
        )
        covered = self._index.between(hold.camera_id, hold.start, hold.end)
        details = {**_describe(hold), "segments_covered": len(covered)}
        self._audit.append(AuditEvent(hold.placed_by, AuditAction.HOLD_PLACED, _target(hold), details, at=now))
        return hold

    def lift(self, hold_id: int, by: Actor, reason: str) -> Hold:
        """Lift a hold: its segments fall back under normal retention (and are purged if already expired).

        Raises :class:`HoldNotFoundError` for an unknown id, :class:`HoldRefusedError` when ``by`` or ``reason``
        is blank or the hold was already lifted.
        """
        _require({"person lifting the hold": by.person, "reason": reason}, "lifting a hold needs a person and a reason")
        now = self._clock()
        try:
            hold = self._holds.lift(hold_id, now, by.name.strip(), reason.strip())
        except ValueError as err:
            raise HoldRefusedError(str(err)) from err
        except LookupError as err:
            raise HoldNotFoundError(f"hold {hold_id} does not exist") from err
        details = {**_describe(hold), "reason": hold.lift_reason}
        self._audit.append(AuditEvent(by.name.strip(), AuditAction.HOLD_LIFTED, _target(hold), details, at=now))
        return hold

    def active(self, now: datetime | None = None) -> list[Hold]:
        """Holds in force at ``now`` (default: the clock)."""
        return self._holds.active(self._clock() if now is None else now)

    def all(self) -> list[Hold]:
        """Every hold ever placed, lifted ones included, oldest first."""
        return self._holds.all()


def _require(fields: dict[str, str], why: str) -> None:
    missing = [name for name, value in fields.items() if not value or not value.strip()]
    if missing:
        raise HoldRefusedError(f"refused: missing {', '.join(missing)}; {why}")


def _check_period(start: datetime, end: datetime) -> None:
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise HoldRefusedError(f"refused: the {name} {value.isoformat()} has no time zone")
    if end <= start:
        raise HoldRefusedError(f"refused: the end ({end.isoformat()}) is not after the start ({start.isoformat()})")


def _target(hold: Hold) -> str:
    return f"hold:{hold.id}"


def _describe(hold: Hold) -> dict[str, str | int | None]:
    return {
        "hold_id": hold.id,
        "camera_id": hold.camera_id,
        "start": hold.start.isoformat(),
        "end": hold.end.isoformat(),
        "requisition_ref": hold.requisition_ref,
        "case_number": hold.case_number,
        "officer": hold.officer,
    }
