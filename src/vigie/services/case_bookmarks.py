"""A case's own bookmarks (issue 22): an investigator marks an instant of one camera of the case's scope, with a
short note, to come back to it (the console's "jump to a bookmark"); the people who may read the case list them.

Rules: adding asks :meth:`CaseService.require_in_scope` for the camera at that instant (``manage_cases``, the
commune's case, open, the camera in the scope and still visible, the instant within the period: each refusal
audited ``access.denied``); removing needs ``manage_cases`` and an open case; reading needs ``read_cases`` and a
case of the person's commune. The bookmarks are part of the case file: they are **not** purged when the case
closes — a closed case's bookmarks are still read, none is added or removed.

Audited (L11): ``case.bookmark_added`` and ``case.bookmark_removed`` name the case, the bookmark, the camera and
the instant; the note is the investigator's own words and may describe a person, so the audit log keeps its length
only. Reading is ``case.read`` (``resource`` ``bookmarks``, how many were answered), like reading the case.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.case_bookmarks import MAX_CASE_BOOKMARKS, CaseBookmark, CaseBookmarkError, CaseBookmarks
from vigie.domain.ports import AuditSink
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal
from vigie.services.cases import CaseConflictError, CaseRefusedError, CaseService

__all__ = ["CaseBookmarkService"]

_INSTANT = timedelta(microseconds=1)
"""The span a bookmark's instant is checked as: [at, at + 1 µs) lies in the scope's [start, end) iff ``at`` does."""
_LAST = datetime.max.replace(tzinfo=UTC)
"""The last instant a datetime holds: no microsecond follows it (an empty span, refused as out of scope)."""


class CaseBookmarkService:
    """Adding, listing and removing the bookmarks of a case."""

    def __init__(
        self, cases: CaseService, bookmarks: CaseBookmarks, audit: AuditSink, clock: Callable[[], datetime]
    ) -> None:
        self._cases, self._bookmarks, self._audit, self._clock = cases, bookmarks, audit, clock

    def add(self, principal: Principal, case_id: int, camera_id: str, at: datetime, note: str) -> CaseBookmark:
        """Bookmark ``at`` on ``camera_id`` of the case. Raises :class:`CaseRefusedError` (a note too long, an
        instant without a time zone), the refusals of :meth:`CaseService.require_in_scope`, and
        :class:`CaseConflictError` when the case already has :data:`MAX_CASE_BOOKMARKS` bookmarks."""
        principal.require(Permission.MANAGE_CASES)
        now = self._clock()
        try:
            bookmark = CaseBookmark(case_id, camera_id, at, note, principal.actor, now)
        except CaseBookmarkError as err:
            raise CaseRefusedError(str(err)) from err
        end = bookmark.at + _INSTANT if bookmark.at < _LAST else bookmark.at
        self._cases.require_in_scope(principal, case_id, bookmark.camera_id, bookmark.at, end)
        if self._bookmarks.count(case_id) >= MAX_CASE_BOOKMARKS:
            raise CaseConflictError(
                f"case {case_id} already has {MAX_CASE_BOOKMARKS} bookmarks, the most one case holds: remove some "
                "that are no longer needed"
            )
        stored = self._bookmarks.add(bookmark)
        self._audit.append(
            AuditEvent(principal.actor, AuditAction.CASE_BOOKMARK_ADDED, f"case:{case_id}", _details(stored), at=now)
        )
        return stored

    def list(self, principal: Principal, case_id: int) -> builtins.list[CaseBookmark]:
        """The case's bookmarks on the cameras the person may see, in the order of their instants (audited
        ``case.read``); a closed case's too."""
        principal.require(Permission.READ_CASES)
        self._cases.require_visible(principal, case_id)
        found = [b for b in self._bookmarks.list(case_id) if principal.sees_camera(b.camera_id)]
        details = {"resource": "bookmarks", "answered": len(found)}
        self._audit.append(
            AuditEvent(principal.actor, AuditAction.CASE_READ, f"case:{case_id}", details, at=self._clock())
        )
        return found

    def remove(self, principal: Principal, case_id: int, bookmark_id: int) -> None:
        """Remove a bookmark of an open case. Raises :class:`NotVisibleError` (no such bookmark in the case, or on
        a camera the person may no longer see) and the refusals of :meth:`CaseService.require_open_case`."""
        self._cases.require_open_case(principal, case_id)
        found = self._bookmarks.get(case_id, bookmark_id)
        if (
            found is None
            or not principal.sees_camera(found.camera_id)
            or not self._bookmarks.delete(case_id, bookmark_id)
        ):
            raise NotVisibleError(f"no bookmark {bookmark_id} among the bookmarks of case {case_id}")
        self._audit.append(
            AuditEvent(
                principal.actor, AuditAction.CASE_BOOKMARK_REMOVED, f"case:{case_id}", _details(found), at=self._clock()
            )
        )


def _details(bookmark: CaseBookmark) -> dict[str, object]:
    """What the audit log keeps of a bookmark: never its note (the investigator's words, which may describe a
    person), only the note's length."""
    return {
        "case_id": bookmark.case_id,
        "bookmark_id": bookmark.id,
        "camera_id": bookmark.camera_id,
        "at": format_time(bookmark.at),
        "note_length": len(bookmark.note),
    }
