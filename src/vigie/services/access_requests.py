"""Filmed persons' requests of access (GDPR art. 12 and 15, L19): recorded, scoped to cameras and a period, a
redacted copy prepared in the background, reviewed by a second person frame by frame, released as a signed package,
or refused with a legal reason; the deadline (one month, once extended by two) shown on every request.

Only people with ``handle_access_requests`` (the DPO: a video permission, L8/L9) handle them, and only their own
commune's requests; another commune's request answers like one that does not exist (L10). The cameras of a scope
are cameras the commune owns.

Every step is audited (L11) with ids, cameras, period, counts, SHA-256s and reasons — never the requester's name,
contact or description, nor the text a person wrote (a review comment, a refusal's explanation, an extension's
reason: their length only): the audit log is read by auditors, and these are personal data.

A copy is made by a :class:`~vigie.domain.access_requests.CopyMaker` in the background, one at a time
(:mod:`vigie.services.access_request_copies`); a copy whose process stopped is failed by the next process that reads
it, never left preparing.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final

from vigie.domain.access_requests import (
    ENDED_STATES,
    MAX_BOXES,
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_RECEIVED_AGE_DAYS,
    MAX_SCOPE_CAMERAS,
    MAX_SCOPE_PERIOD,
    MAX_TEXT,
    AccessRequest,
    AccessRequestError,
    AccessRequestRepo,
    AccessRequestState,
    CopyMaker,
    CopyScope,
    IdentityDocument,
    NormalisedBox,
    PreparedCopy,
    Refusal,
    RefusalReason,
    Review,
    box_problem,
)
from vigie.domain.audit import AuditAction, AuditEvent, format_time
from vigie.domain.clock import LEGAL_TIME_ZONE
from vigie.domain.ports import AuditSink
from vigie.domain.users import Permission
from vigie.services.access import NotVisibleError, Principal
from vigie.services.access_request_copies import (
    NEVER_STARTED,
    STOPPED,
    AccessRequestBusyError,
    CopyJobs,
    delete_folder,
    scope_details,
)

__all__ = [
    "NEVER_STARTED",
    "STOPPED",
    "AccessRequestBusyError",
    "AccessRequestConflictError",
    "AccessRequestService",
    "AccessRequestsUnavailableError",
    "SecondPersonError",
]

log = logging.getLogger(__name__)

SECOND_PERSON: Final = "a second person reviews the copy (L19)"
_READS_REMEMBERED: Final = 10_000
"""Reads remembered to audit only the first per person and file, or request and state (oldest forgotten first)."""

_SCOPABLE: Final = frozenset({AccessRequestState.RECEIVED, AccessRequestState.IN_REVIEW, AccessRequestState.APPROVED})
_PREPARABLE: Final = frozenset({AccessRequestState.RECEIVED, AccessRequestState.IN_REVIEW})
_WITH_COPY: Final = frozenset({AccessRequestState.IN_REVIEW, AccessRequestState.APPROVED, AccessRequestState.RELEASED})
_OPEN: Final = frozenset(AccessRequestState) - ENDED_STATES


class AccessRequestConflictError(Exception):
    """The step does not fit where the request stands (a copy being made, already released…): the message says
    where it stands and what can be done."""


class SecondPersonError(Exception):
    """The person who prepared a copy may not review it: a second person does (L19). Audited by the service."""


class AccessRequestsUnavailableError(Exception):
    """This server cannot make redacted copies (no copy maker: no recordings or no redaction model)."""


class AccessRequestService:
    """Recording, scoping, copying, reviewing, releasing, refusing and extending access requests."""

    def __init__(
        self,
        requests: AccessRequestRepo,
        audit: AuditSink,
        clock: Callable[[], datetime],
        workspace: Path,
        maker: CopyMaker | None,
        *,
        keep_days: int = 365,
    ) -> None:
        """``workspace``: where copies and packages are written (``<workspace>/access-requests/<id>/``);
        ``maker``: None on a server that cannot make copies (the copy steps answer
        :class:`AccessRequestsUnavailableError`); ``keep_days``: how long after a request ended its personal data
        and copies are kept (:meth:`purge`)."""
        self._requests, self._audit, self._clock, self._maker = requests, audit, clock, maker
        self._root = workspace / "access-requests"
        self._keep = timedelta(days=keep_days)
        self._jobs = None if maker is None else CopyJobs(requests, audit, clock, maker, self._root)
        self._lock = threading.Lock()
        self._reads: OrderedDict[tuple[int, str, str, str], None] = OrderedDict()

    def today(self) -> date:
        """Today in Paris: the day deadlines count in."""
        return self._clock().astimezone(LEGAL_TIME_ZONE).date()

    @property
    def copies(self) -> CopyJobs | None:
        """The copies being made by this process (None: this server makes none)."""
        return self._jobs

    def close(self) -> None:
        """Stop: copies waiting are failed (never started); the one being made is failed when it returns."""
        if self._jobs is not None:
            self._jobs.close()

    def fail_abandoned(self) -> int:
        """At a start: the copies a stopped process left preparing failed (audited). How many."""
        return 0 if self._jobs is None else self._jobs.fail_abandoned()

    # --- recording and reading ---------------------------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        *,
        requester_name: str,
        requester_contact: str,
        identity_document: IdentityDocument,
        identity_checked_by: str,
        received_on: date,
        description: str,
    ) -> AccessRequest:
        """Record a request received on ``received_on`` (Paris; not in the future, not older than a year)."""
        principal.require(Permission.HANDLE_ACCESS_REQUESTS)
        texts = {
            "requester_name": (requester_name, MAX_NAME),
            "requester_contact": (requester_contact, MAX_NAME),
            "identity_checked_by": (identity_checked_by, MAX_NAME),
            "description": (description, MAX_DESCRIPTION),
        }
        for name, (value, longest) in texts.items():
            if not value.strip() or len(value) > longest:
                raise AccessRequestError(f"{name} must be 1 to {longest} characters, not blank")
        now = self._clock()
        today = now.astimezone(LEGAL_TIME_ZONE).date()
        if received_on > today:
            raise AccessRequestError(
                f"received_on {received_on.isoformat()} is in the future (today is {today.isoformat()})"
            )
        if (today - received_on).days > MAX_RECEIVED_AGE_DAYS:
            raise AccessRequestError(
                f"received_on {received_on.isoformat()} is more than {MAX_RECEIVED_AGE_DAYS} days ago: give the day "
                "the request reached the commune"
            )
        request = self._requests.add(
            AccessRequest(
                commune_id=principal.user.commune_id,
                requester_name=requester_name.strip(),
                requester_contact=requester_contact.strip(),
                identity_document=identity_document,
                identity_checked_by=identity_checked_by.strip(),
                received_on=received_on,
                description=description.strip(),
                created_by=principal.actor,
                created_at=now,
                handled_by=principal.actor,
            )
        )
        details = {
            "request_id": request.id,
            "identity_document": identity_document.value,
            "received_on": received_on.isoformat(),
            "deadline": request.deadline.isoformat(),
        }
        self._log(principal.actor, AuditAction.ACCESS_REQUEST_RECORDED, request, details, now)
        return request

    def list_for(self, principal: Principal, state: AccessRequestState | None = None) -> list[AccessRequest]:
        """The commune's requests (of ``state``), the nearest deadline first (audited: the count only)."""
        principal.require(Permission.HANDLE_ACCESS_REQUESTS)
        settled = (lambda r: r) if self._jobs is None else self._jobs.settled
        found = [settled(r) for r in self._requests.list(principal.user.commune_id, state)]
        if state is not None:
            found = [r for r in found if r.state is state]
        found.sort(key=lambda r: (r.deadline, r.id or 0))
        details: dict[str, object] = {"resource": "list", "commune_id": principal.user.commune_id}
        details |= {"state": None if state is None else state.value, "requests": len(found)}
        self._audit.append(
            AuditEvent(principal.actor, AuditAction.ACCESS_REQUEST_READ, "access_requests", details, self._clock())
        )
        return found

    def get_for(self, principal: Principal, request_id: int) -> AccessRequest:
        """One request of the person's commune; another commune's answers like none. Audited at a person's first
        read of it in each state: the console reads a request every second while its copy is made."""
        request = self._visible(principal, request_id)
        if self._first_read(request, principal, "request", request.state.value):
            details = {"resource": "request", "request_id": request.id, "state": request.state.value}
            self._log(principal.actor, AuditAction.ACCESS_REQUEST_READ, request, details)
        return request

    # --- scope and copy ----------------------------------------------------------------------------------------

    def set_scope(
        self, principal: Principal, request_id: int, cameras: Sequence[str], start: datetime, end: datetime
    ) -> AccessRequest:
        """Set the cameras (of the commune, 1 to 16) and the period (ended, at most 24 h) of the copy; a copy
        prepared or approved before is dropped (back to received)."""
        request = self._visible(principal, request_id)
        self._require_state(principal, request, _SCOPABLE, "set its scope")
        camera_ids = list(dict.fromkeys(c.strip() for c in cameras))
        if not camera_ids or len(camera_ids) > MAX_SCOPE_CAMERAS or any(not c for c in camera_ids):
            raise AccessRequestError(f"cameras: give 1 to {MAX_SCOPE_CAMERAS} camera ids, none blank")
        for camera in camera_ids:
            if principal.directory.owner(camera) != principal.user.commune_id:
                self._deny(principal, request, "camera not owned by the commune", camera_id=camera)
                raise NotVisibleError(f"no camera {camera!r} among your commune's cameras")
        now = self._clock()
        _check_period(start, end, now)
        scoped = replace(
            self._dropped(request),
            scope=CopyScope(tuple(camera_ids), start, end),
            handled_by=principal.actor,
        )
        saved = self._save(principal, request, scoped, "set its scope")
        self._log(principal.actor, AuditAction.ACCESS_REQUEST_SCOPED, saved, scope_details(saved), now)
        return saved

    def prepare_copy(
        self,
        principal: Principal,
        request_id: int,
        keep_clear: Sequence[NormalisedBox] = (),
        manual: Sequence[NormalisedBox] = (),
    ) -> AccessRequest:
        """Start making the redacted copy of the scope, ``keep_clear`` regions left clear (the requester) and
        ``manual`` boxes blurred besides what the detector finds; answers at once (preparing)."""
        request = self._visible(principal, request_id)
        jobs = self._jobs
        if jobs is None:
            raise AccessRequestsUnavailableError(
                "this server makes no redacted copies (no recordings, or no redaction model configured)"
            )
        self._require_state(principal, request, _PREPARABLE, "prepare a copy")
        if request.scope is None:
            raise AccessRequestConflictError(
                f"access request {request.id} has no scope yet: set its cameras and period first"
            )
        scope = replace(request.scope, keep_clear=tuple(keep_clear), manual=tuple(manual))
        _check_boxes(scope)
        jobs.require_room()
        now = self._clock()
        number = request.copies + 1
        preparing = replace(
            self._dropped(request),
            state=AccessRequestState.PREPARING,
            scope=scope,
            prepared_by=principal.actor,
            handled_by=principal.actor,
            progress=(0, 0),
            copies=number,
            runner=jobs.runner,
            heartbeat_at=now,
        )
        saved = self._save(principal, request, preparing, "prepare a copy")
        folder = self._root / str(saved.id) / f"copy-{number}"
        details = {**scope_details(saved), "copy": number, "keep_clear": len(scope.keep_clear)}
        details["manual"] = len(scope.manual)
        self._log(principal.actor, AuditAction.ACCESS_REQUEST_COPY_STARTED, saved, details, now)
        if not jobs.submit(saved, folder):
            raise AccessRequestsUnavailableError("the server is stopping: prepare the copy again in a moment")
        return saved

    # --- review, release, refusal, extension -------------------------------------------------------------------

    def review(
        self, principal: Principal, request_id: int, *, approved: bool, frames_reviewed: int, comment: str = ""
    ) -> AccessRequest:
        """A second person's review of the copy: approving it needs every frame reviewed; a copy not approved is
        dropped (back to received, the comment kept in the review)."""
        request = self._visible(principal, request_id)
        self._require_state(principal, request, frozenset({AccessRequestState.IN_REVIEW}), "review its copy")
        copy = _copy(request)
        if principal.actor == request.prepared_by:
            self._deny(principal, request, "the preparer may not review the copy")
            raise SecondPersonError(f"{SECOND_PERSON}: you prepared this copy; another person must review it")
        if len(comment) > MAX_TEXT:
            raise AccessRequestError(f"comment must be at most {MAX_TEXT} characters")
        if frames_reviewed < 0:
            raise AccessRequestError("frames_reviewed must be 0 or more")
        if approved and frames_reviewed < copy.frames:
            raise AccessRequestError(
                f"every frame is reviewed before a copy is approved: {frames_reviewed} of {copy.frames} reviewed"
            )
        now = self._clock()
        review = Review(principal.actor, now, approved, frames_reviewed, comment.strip())
        if approved:
            changed = replace(request, state=AccessRequestState.APPROVED, review=review)
        else:
            changed = replace(request, state=AccessRequestState.RECEIVED, review=review, copy=None)
        saved = self._save(principal, request, replace(changed, handled_by=principal.actor), "review its copy")
        if not approved:
            self._delete_folder(copy.folder)
        details = {
            **scope_details(saved),
            "approved": approved,
            "frames_reviewed": frames_reviewed,
            "frames": copy.frames,
            "prepared_by": request.prepared_by,
            "comment_length": len(review.comment),
        }
        self._log(principal.actor, AuditAction.ACCESS_REQUEST_REVIEWED, saved, details, now)
        return saved

    def release(self, principal: Principal, request_id: int) -> AccessRequest:
        """Sign and package the approved copy (its redacted files only); the request ends, released."""
        request = self._visible(principal, request_id)
        if self._maker is None:
            raise AccessRequestsUnavailableError("this server makes no redacted copies: none can be released here")
        self._require_state(principal, request, frozenset({AccessRequestState.APPROVED}), "release its copy")
        copy = _copy(request)
        now = self._clock()
        folder = self._root / str(request.id) / "package"
        folder.mkdir(parents=True, exist_ok=True)
        released = replace(self._maker.release(request, str(folder), now), by=principal.actor)
        ended = replace(
            request, state=AccessRequestState.RELEASED, release=released, ended_at=now, handled_by=principal.actor
        )
        saved = self._save(principal, request, ended, "release its copy")
        details = {
            **scope_details(saved),
            "package_name": released.package_name,
            "package_sha256": released.package_sha256,
            "manifest_sha256": released.manifest_sha256,
            "key_id": released.key_id,
            "files": {f.name: f.sha256 for f in copy.files},
            "frames": copy.frames,
            "reviewed_by": None if request.review is None else request.review.reviewer,
        }
        self._log(principal.actor, AuditAction.ACCESS_REQUEST_RELEASED, saved, details, now)
        return saved

    def package(self, principal: Principal, request_id: int) -> Path:
        """The released package's file (audited, each download)."""
        request = self._visible(principal, request_id)
        if request.release is None or request.erased_at is not None:
            raise NotVisibleError(f"access request {request_id} has no released package (anymore)")
        path = self._root / str(request.id) / "package" / request.release.package_name
        if not path.is_file():
            raise NotVisibleError(f"the package of access request {request_id} is no longer on this server")
        details = {"package_name": request.release.package_name, "package_sha256": request.release.package_sha256}
        self._log(principal.actor, AuditAction.ACCESS_REQUEST_PACKAGE_DOWNLOADED, request, details)
        return path

    def refuse(
        self, principal: Principal, request_id: int, *, reason: RefusalReason, explanation: str
    ) -> AccessRequest:
        """Refuse the request with a legal reason and an explanation to the person; it ends."""
        request = self._visible(principal, request_id)
        self._require_state(principal, request, _OPEN, "refuse it")
        if not explanation.strip() or len(explanation) > MAX_TEXT:
            raise AccessRequestError(f"explanation must be 1 to {MAX_TEXT} characters, not blank")
        now = self._clock()
        refusal = Refusal(reason, explanation.strip(), principal.actor, now)
        ended = replace(
            request,
            state=AccessRequestState.REFUSED,
            refusal=refusal,
            ended_at=now,
            handled_by=principal.actor,
            progress=None,
            runner=None,
        )
        saved = self._save(principal, request, ended, "refuse it")
        details = {"request_id": saved.id, "reason": reason.value, "explanation_length": len(refusal.explanation)}
        details["state_before"] = request.state.value
        self._log(principal.actor, AuditAction.ACCESS_REQUEST_REFUSED, saved, details, now)
        return saved

    def extend(self, principal: Principal, request_id: int, *, reason: str) -> AccessRequest:
        """Extend the deadline by two months, once, before it passes (the person is told why)."""
        request = self._visible(principal, request_id)
        self._require_state(principal, request, _OPEN, "extend its deadline")
        if request.extended_because is not None:
            raise AccessRequestConflictError(f"access request {request.id}'s deadline was already extended (once only)")
        today = self.today()
        if today > request.deadline:
            raise AccessRequestConflictError(
                f"the deadline of access request {request.id} passed on {request.deadline.isoformat()}: it can no "
                "longer be extended; answer the person now"
            )
        if not reason.strip() or len(reason) > MAX_TEXT:
            raise AccessRequestError(f"reason must be 1 to {MAX_TEXT} characters, not blank")
        extended = replace(request, extended_because=reason.strip(), handled_by=principal.actor)
        saved = self._save(principal, request, extended, "extend its deadline")
        details = {
            "request_id": saved.id,
            "deadline_before": request.deadline.isoformat(),
            "deadline": saved.deadline.isoformat(),
            "reason_length": len(reason.strip()),
        }
        self._log(principal.actor, AuditAction.ACCESS_REQUEST_EXTENDED, saved, details)
        return saved

    # --- the copy's files --------------------------------------------------------------------------------------

    def copy_file(self, principal: Principal, request_id: int, name: str) -> Path:
        """A redacted MP4 of the copy (audited at a person's first read of it)."""
        request, copy = self._with_copy(principal, request_id)
        if name not in {f.name for f in copy.files}:
            raise NotVisibleError(f"no file {name!r} in the copy of access request {request_id}")
        return self._read(principal, request, "redacted", name, Path(copy.folder) / name)

    def copy_boxes(self, principal: Principal, request_id: int, name: str) -> Path:
        """The per-frame boxes the copy maker wrote beside a redacted MP4 (JSON; audited at the first read)."""
        request, copy = self._with_copy(principal, request_id)
        if name not in {f.name for f in copy.files}:
            raise NotVisibleError(f"no file {name!r} in the copy of access request {request_id}")
        return self._read(principal, request, "boxes", name, Path(copy.folder) / f"{name}.boxes.json")

    def original(self, principal: Principal, request_id: int, camera_id: str) -> Path:
        """The original (not redacted) clip of a camera of the copy, for the people handling the request; never
        released (audited at the first read)."""
        request, copy = self._with_copy(principal, request_id)
        found = next((f for f in copy.files if f.camera_id == camera_id), None)
        if found is None:
            raise NotVisibleError(f"no camera {camera_id!r} in the copy of access request {request_id}")
        return self._read(principal, request, "original", found.name, Path(copy.folder) / "original" / found.name)

    def _with_copy(self, principal: Principal, request_id: int) -> tuple[AccessRequest, PreparedCopy]:
        request = self._visible(principal, request_id)
        if request.state not in _WITH_COPY or request.copy is None or request.erased_at is not None:
            raise NotVisibleError(f"access request {request_id} has no prepared copy ({request.state.value})")
        return request, request.copy

    def _read(self, principal: Principal, request: AccessRequest, kind: str, name: str, path: Path) -> Path:
        if not path.is_file():
            raise NotVisibleError(f"the {kind} file {name!r} of access request {request.id} is not on this server")
        if self._first_read(request, principal, kind, name):
            details = {"resource": kind, "file": name, "request_id": request.id}
            self._log(principal.actor, AuditAction.ACCESS_REQUEST_READ, request, details)
        return path

    def _first_read(self, request: AccessRequest, principal: Principal, kind: str, name: str) -> bool:
        """Whether this person reads this (file, or request in a state) for the first time in this process."""
        key = (_id(request), principal.actor, kind, name)
        with self._lock:
            first = key not in self._reads
            self._reads[key] = None
            self._reads.move_to_end(key)
            while len(self._reads) > _READS_REMEMBERED:
                self._reads.popitem(last=False)
        return first

    # --- the purge of personal data ----------------------------------------------------------------------------

    def purge(self, now: datetime | None = None) -> int:
        """Erase the requester's name, contact and description and delete the copies and packages of requests
        ended more than ``keep_days`` ago (audited with their ids). How many."""
        now = now or self._clock()
        erased: list[int] = []
        for request in self._requests.ended_before(now - self._keep):
            blank = replace(request, requester_name="", requester_contact="", description="", erased_at=now)
            if self._requests.save(blank, if_states=ENDED_STATES):
                self._delete_folder(str(self._root / str(request.id)))
                erased.append(_id(request))
        if erased:
            details = {"request_ids": erased, "keep_days": self._keep.days}
            self._audit.append(
                AuditEvent("service", AuditAction.ACCESS_REQUEST_ERASED, "access_requests", details, now)
            )
        return len(erased)

    # --- helpers -----------------------------------------------------------------------------------------------

    def _visible(self, principal: Principal, request_id: int) -> AccessRequest:
        principal.require(Permission.HANDLE_ACCESS_REQUESTS)
        request = self._requests.get(request_id)
        if request is None or request.commune_id != principal.user.commune_id:
            if request is not None:
                self._deny(principal, request, "access request of another commune")
            raise NotVisibleError(f"no access request {request_id} among your commune's requests")
        return request if self._jobs is None else self._jobs.settled(request)

    def _require_state(
        self, principal: Principal, request: AccessRequest, states: frozenset[AccessRequestState], what: str
    ) -> None:
        if request.state in states:
            return
        self._deny(principal, request, f"cannot {what} while {request.state.value}")
        raise AccessRequestConflictError(
            f"access request {request.id} is {request.state.value.replace('_', ' ')}: you cannot {what} now "
            f"(only when {', '.join(sorted(s.value.replace('_', ' ') for s in states))})"
        )

    def _save(self, principal: Principal, seen: AccessRequest, changed: AccessRequest, what: str) -> AccessRequest:
        if not self._requests.save(changed, if_states=frozenset({seen.state})):
            self._deny(principal, seen, f"cannot {what}: changed meanwhile")
            raise AccessRequestConflictError(
                f"access request {seen.id} changed while you were working on it: read it again, then {what}"
            )
        return changed

    def _dropped(self, request: AccessRequest) -> AccessRequest:
        """The request back to received, its copy (and the copy's folder) and review dropped."""
        if request.copy is not None:
            self._delete_folder(request.copy.folder)
        return replace(
            request, state=AccessRequestState.RECEIVED, copy=None, copy_error=None, review=None, progress=None
        )

    def _delete_folder(self, folder: str) -> None:
        delete_folder(self._root, folder)

    def _log(
        self,
        actor: str,
        action: AuditAction,
        request: AccessRequest,
        details: Mapping[str, object],
        at: datetime | None = None,
    ) -> None:
        target = f"access_request:{request.id}"
        self._audit.append(AuditEvent(actor, action, target, details, at=at or self._clock()))

    def _deny(self, principal: Principal, request: AccessRequest, reason: str, *, camera_id: str | None = None) -> None:
        details: dict[str, object] = {"resource": "access_request", "request_id": request.id, "reason": reason}
        if camera_id is not None:
            details["camera_id"] = camera_id
        self._audit.append(
            AuditEvent(
                principal.actor, AuditAction.ACCESS_DENIED, f"access_request:{request.id}", details, self._clock()
            )
        )


def _check_period(start: datetime, end: datetime, now: datetime) -> None:
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise AccessRequestError(f"{name} {value.isoformat()} has no time zone: give one, e.g. 2026-11-28T14:00Z")
    if not start < end:
        raise AccessRequestError(f"end ({format_time(end)}) must be after start ({format_time(start)})")
    if end > now:
        raise AccessRequestError(
            f"end ({format_time(end)}) is in the future: a copy is made of what was recorded, up to now "
            f"({format_time(now)})"
        )
    if end - start > MAX_SCOPE_PERIOD:
        hours = int(MAX_SCOPE_PERIOD.total_seconds() // 3600)
        raise AccessRequestError(
            f"the period from {format_time(start)} to {format_time(end)} is longer than {hours} h: every frame of a "
            "copy is reviewed by a person; narrow it to where the person was"
        )


def _check_boxes(scope: CopyScope) -> None:
    for name, boxes in (("keep_clear", scope.keep_clear), ("manual", scope.manual)):
        if len(boxes) > MAX_BOXES:
            raise AccessRequestError(f"{name}: at most {MAX_BOXES} boxes")
        for n, box in enumerate(boxes):
            problem = box_problem(box)
            if problem is not None:
                raise AccessRequestError(f"{name}[{n}]: {problem}")
            if box.camera_id not in scope.camera_ids:
                raise AccessRequestError(
                    f"{name}[{n}]: camera {box.camera_id!r} is not in the scope ({', '.join(scope.camera_ids)})"
                )


def _copy(request: AccessRequest) -> PreparedCopy:
    if request.copy is None:
        raise AccessRequestConflictError(f"access request {request.id} has no prepared copy: prepare one first")
    return request.copy


def _id(request: AccessRequest) -> int:
    if request.id is None:
        raise ValueError("a stored access request has an id")
    return request.id
