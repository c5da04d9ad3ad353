"""A case's own bookmarks (issue 22): instants of the scope's cameras an investigator marked while reviewing the
recordings, each with a short note, to come back to them (the console's "jump to a bookmark").

A bookmark belongs to the case file, like its holds and its exports: it is kept when the case closes (a closed
case's bookmarks are still read, none is added or removed) and goes only with the case itself (``purge``, or the
case's row deleted). It is not a sensor's bookmark (``sensor_link_events``, made by a rule on MQTT readings for
every camera it names): those are the platform's, these are one investigation's.

The note is the investigator's own words and may describe a person: it is stored with the case, shown to the
people who may read the case, and never written in the audit log (only its length is).

Pure data and the port that stores it; the SQL is ``vigie.storage.case_bookmarks.SqlCaseBookmarks``.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol

MAX_NOTE: Final = 500
"""Longest note, in characters, once stripped (the storage column's width)."""
MAX_CASE_BOOKMARKS: Final = 1000
"""Most bookmarks one case holds: the list of a case's bookmarks is answered whole, so it is bounded."""
CAMERA_ID_LENGTH: Final = 128
"""Longest camera id (the storage column's width)."""


class CaseBookmarkError(ValueError):
    """A bookmark cannot be stored as given (the message says which field and why)."""


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise CaseBookmarkError(f"{what} {value.isoformat()} has no time zone: give an aware instant (e.g. …T14:00Z)")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class CaseBookmark:
    """An instant of one camera of a case, marked by an investigator. Instants come back as UTC; ``note`` is
    stripped (it may be empty)."""

    case_id: int
    camera_id: str
    at: datetime
    """The instant marked (within the case's period: the service checks it against the scope)."""
    note: str
    created_by: str
    """The account that added it."""
    created_at: datetime
    id: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # a frozen dataclass normalising its own fields
        if not self.camera_id or len(self.camera_id) > CAMERA_ID_LENGTH:
            raise CaseBookmarkError(f"camera_id {self.camera_id!r}: give a camera of the case (1 to 128 characters)")
        if not self.created_by:
            raise CaseBookmarkError("created_by is empty: a bookmark names the person who added it")
        note = self.note.strip()
        if len(note) > MAX_NOTE:
            raise CaseBookmarkError(f"note has {len(note)} characters: at most {MAX_NOTE}, say what to look at")
        set_(self, "note", note)
        set_(self, "at", _utc(self.at, "at"))
        set_(self, "created_at", _utc(self.created_at, "created_at"))


class CaseBookmarks(Protocol):
    """Where a case's bookmarks are kept (with the case file: not purged when it closes)."""

    def add(self, bookmark: CaseBookmark) -> CaseBookmark:
        """Store a new bookmark; it comes back with its id."""
        ...

    def list(self, case_id: int) -> builtins.list[CaseBookmark]:
        """Every bookmark of the case, in the order of their instants (then of their ids)."""
        ...

    def count(self, case_id: int) -> int:
        """How many bookmarks the case has."""
        ...

    def get(self, case_id: int, bookmark_id: int) -> CaseBookmark | None:
        """One bookmark of the case (None: no such bookmark in that case)."""
        ...

    def delete(self, case_id: int, bookmark_id: int) -> bool:
        """Remove one bookmark of the case; whether there was one."""
        ...

    def purge(self, case_id: int) -> int:
        """Delete every bookmark of the case (the case itself deleted); how many there were."""
        ...
