"""Cases (issue 22): an investigation opened from a judicial requisition, whose scope — cameras and a period —
bounds every search of the recordings made for it (L25, L26: no standing index of everyone)."""

from __future__ import annotations

import builtins
import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Protocol

MAX_CASE_PERIOD: Final = timedelta(days=31)
"""Longest period a case may cover: a requisition names a bounded period, never "everything recorded"."""
MAX_CASE_CAMERAS: Final = 64
"""Most cameras in a case's scope."""


class AuthorityKind(enum.StrEnum):
    """Who signed the requisition."""

    OFFICER = "officer"
    """An officer of judicial police (officier de police judiciaire), under a prosecutor or a judge."""
    MAGISTRATE = "magistrate"
    """A prosecutor or an investigating judge."""


class HoldDecision(enum.StrEnum):
    """What becomes of a case's holds when it closes."""

    LIFTED = "lifted"
    """The holds placed for the case are lifted: the footage falls back under normal retention."""
    KEPT = "kept"
    """The holds stay in force (the footage is still needed, e.g. for a trial); lifting them is a later decision."""


@dataclass(frozen=True, slots=True)
class Case:
    """A case as stored. ``camera_ids`` and [start, end) are its scope; ``hold_ids`` the holds placed for it."""

    commune_id: str
    reference: str
    """The case's number with the authority (procedure number)."""
    requisition_ref: str
    authority: str
    """The officer or magistrate who signed the requisition."""
    authority_kind: AuthorityKind
    requisition_date: date
    purpose: str
    camera_ids: tuple[str, ...]
    start: datetime
    end: datetime
    opened_by: str
    opened_at: datetime
    id: int | None = None
    hold_ids: tuple[int, ...] = ()
    closed_at: datetime | None = None
    closed_by: str | None = None
    hold_decision: HoldDecision | None = None
    close_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class CaseRepo(Protocol):
    """Where cases are kept."""

    def add(self, case: Case) -> Case:
        """Store a new case; it comes back with its id."""
        ...

    def get(self, case_id: int) -> Case | None: ...

    def list(self, commune_id: str, *, limit: int, offset: int) -> builtins.list[Case]:
        """The cases of ``commune_id``, newest first."""
        ...

    def add_holds(self, case_id: int, hold_ids: builtins.list[int]) -> Case:
        """Link holds placed for the case to it."""
        ...

    def close(self, case_id: int, at: datetime, by: str, decision: HoldDecision, reason: str) -> Case:
        """Close an open case (ValueError if it is already closed, LookupError if unknown)."""
        ...
