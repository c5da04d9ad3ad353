"""A filmed person's right of access (GDPR art. 12 and 15, CSI L253-5; L19): the request, its one-month deadline,
the redacted copy a second person reviews before it is released, and the reasoned refusals.

A request names the person (name and contact: personal data, shown to the people handling requests of the commune
only, never written to the audit log), records who checked their identity and on which kind of document (never its
number), and what the person describes (where, when, what they wore) to find them. The DPO narrows it to cameras and
a period, prepares a copy in which every other person and every vehicle is blurred (:mod:`vigie.privacy`), keeping
clear the regions where the requester is; a second person reviews the copy frame by frame; only then is it released
as a signed package. A refusal carries one of :class:`RefusalReason` and an explanation.

This module holds the vocabulary and the rules (pure functions); storage, services and the API build on it.
"""

from __future__ import annotations

import builtins
import calendar
import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final, Protocol

ANSWER_MONTHS: Final = 1
"""The answer is due one month after the request is received (GDPR art. 12(3))."""
EXTENSION_MONTHS: Final = 2
"""Once, for a complex or numerous request, the deadline may be extended by two further months (art. 12(3)); the
person must be told why within the first month."""
REMINDER_DAYS: Final = 7
"""A request whose deadline is this close (or passed) is flagged to the people who handle requests."""
MAX_SCOPE_CAMERAS: Final = 16
"""Cameras of one copy's scope: a person's walk past a few cameras, not a district."""
MAX_SCOPE_PERIOD: Final = timedelta(hours=24)
"""The longest period of one copy: every frame of it is reviewed by a person."""
MAX_BOXES: Final = 200
"""Regions kept clear, and boxes added by hand, of one copy (each list)."""
MAX_RECEIVED_AGE_DAYS: Final = 365
"""A request is recorded within this many days of its receipt (an older date is a typing mistake)."""
MAX_NAME: Final = 200
"""Longest requester name, contact, identity checker and extension reason."""
MAX_DESCRIPTION: Final = 4000
MAX_TEXT: Final = 2000
"""Longest review comment, refusal explanation."""


class AccessRequestState(enum.StrEnum):
    RECEIVED = "received"
    """Recorded, identity checked; the footage is being looked for (scope set, copy not yet prepared)."""
    PREPARING = "preparing"
    """A redacted copy is being made."""
    IN_REVIEW = "in_review"
    """A redacted copy is ready and waits for a second person's frame-by-frame review."""
    APPROVED = "approved"
    """The reviewer approved the copy: it can be released."""
    RELEASED = "released"
    """The signed copy was released to the person (ended)."""
    REFUSED = "refused"
    """Refused with a legal reason (ended)."""


ENDED_STATES: Final = frozenset({AccessRequestState.RELEASED, AccessRequestState.REFUSED})


class IdentityDocument(enum.StrEnum):
    """The kind of document the identity was checked on; its number is never recorded."""

    ID_CARD = "id_card"
    PASSPORT = "passport"
    RESIDENCE_PERMIT = "residence_permit"
    DRIVING_LICENCE = "driving_licence"
    OTHER = "other"


class RefusalReason(enum.StrEnum):
    """Why a request is refused; the closed list of what the law allows (L19)."""

    NO_FOOTAGE = "no_footage"
    """Nothing recorded is left for the period (the retention period passed, or no camera films the place)."""
    PERSON_NOT_FOUND = "person_not_found"
    """The footage was searched and the person does not appear in it."""
    IDENTITY_NOT_ESTABLISHED = "identity_not_established"
    """The identity could not be checked (art. 12(6))."""
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded"
    """Manifestly unfounded or excessive, notably repetitive (art. 12(5)); the controller bears the proof."""
    THIRD_PARTY_RIGHTS = "third_party_rights"
    """A copy cannot be given without harming others' rights, even redacted (art. 15(4))."""
    PUBLIC_SECURITY = "public_security"
    """State security, defence, public safety, or judicial proceedings under way (CSI L253-5)."""


@dataclass(frozen=True, slots=True)
class NormalisedBox:
    """A rectangle in a picture as fractions of its width and height (0 ≤ x1 < x2 ≤ 1, 0 ≤ y1 < y2 ≤ 1), over a
    span of a camera's clip in seconds from the clip's start (``end_s`` None: to the end)."""

    camera_id: str
    x1: float
    y1: float
    x2: float
    y2: float
    start_s: float = 0.0
    end_s: float | None = None


@dataclass(frozen=True, slots=True)
class CopyScope:
    """What a copy is made of: cameras and a period, the regions kept clear (the requester) and the boxes a person
    added by hand (a third party the detector missed)."""

    camera_ids: tuple[str, ...]
    start: datetime
    end: datetime
    keep_clear: tuple[NormalisedBox, ...] = ()
    manual: tuple[NormalisedBox, ...] = ()


@dataclass(frozen=True, slots=True)
class CopyFile:
    """One camera's redacted clip in a prepared copy."""

    name: str
    """File name of the redacted MP4 (``<camera>_<start>.mp4``); its boxes are ``<name>.boxes.json`` beside it."""
    camera_id: str
    frames: int
    sha256: str
    bytes: int
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class PreparedCopy:
    """A redacted copy made in ``folder`` (redacted MP4s, their boxes, the originals' signed export kept apart for
    the people handling the request), ready for review."""

    folder: str
    files: tuple[CopyFile, ...]
    source_manifest_sha256: str
    """SHA-256 of the signed export of the original footage the copy was made from (L15: its segments checked)."""
    detector: str
    """The model that found the persons and vehicles (registered name and SHA-256)."""
    options: dict[str, object] = field(default_factory=dict)
    """The redaction settings used (detector rate, margin, hold, …), written into the released manifest."""

    @property
    def frames(self) -> int:
        return sum(f.frames for f in self.files)


@dataclass(frozen=True, slots=True)
class Review:
    reviewer: str
    at: datetime
    approved: bool
    frames_reviewed: int
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: RefusalReason
    explanation: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Release:
    at: datetime
    by: str
    package_name: str
    package_sha256: str
    manifest_sha256: str
    key_id: str


@dataclass(frozen=True, slots=True)
class AccessRequest:
    commune_id: str
    requester_name: str
    requester_contact: str
    identity_document: IdentityDocument
    identity_checked_by: str
    received_on: date
    """The day (Paris) the request reached the controller: the deadline counts from it."""
    description: str
    created_by: str
    created_at: datetime
    state: AccessRequestState = AccessRequestState.RECEIVED
    handled_by: str | None = None
    scope: CopyScope | None = None
    copy: PreparedCopy | None = None
    copy_error: str | None = None
    prepared_by: str | None = None
    review: Review | None = None
    refusal: Refusal | None = None
    release: Release | None = None
    extended_because: str | None = None
    id: int | None = None
    progress: tuple[int, int] | None = None
    """While preparing: (done, total) as the copy maker reports them."""
    copies: int = 0
    """How many copies were started for this request (their folders are ``copy-<n>``)."""
    runner: str | None = None
    """The process preparing the copy (``host:pid:token``), and when it last said so: a copy whose process stopped
    is failed by the next process that looks, never left preparing forever."""
    heartbeat_at: datetime | None = None
    ended_at: datetime | None = None
    """When it was released or refused: the personal data is erased ``access_request_keep_days`` later."""
    erased_at: datetime | None = None
    """When the requester's name, contact and description were erased and the copies deleted (the purge)."""

    @property
    def deadline(self) -> date:
        return answer_deadline(self.received_on, extended=self.extended_because is not None)

    @property
    def ended(self) -> bool:
        return self.state in ENDED_STATES


def answer_deadline(received_on: date, *, extended: bool = False) -> date:
    """The last day to answer: one calendar month after receipt (the same day number, or the month's last day when
    it has none: 31 January → 28 or 29 February), three months when extended."""
    months = ANSWER_MONTHS + (EXTENSION_MONTHS if extended else 0)
    # By hand rather than python-dateutil's relativedelta: three lines, and the domain layer imports no package.
    year, month = divmod(received_on.month - 1 + months, 12)
    year, month = received_on.year + year, month + 1
    return date(year, month, min(received_on.day, calendar.monthrange(year, month)[1]))


def days_left(deadline: date, today: date) -> int:
    """Days from ``today`` (Paris) to the deadline: 0 on its last day, negative once it has passed."""
    return (deadline - today).days


def due_soon(deadline: date, today: date) -> bool:
    return days_left(deadline, today) <= REMINDER_DAYS


class AccessRequestError(ValueError):
    """A request or a step that cannot be accepted; the message says why and what to do."""


def box_problem(box: NormalisedBox) -> str | None:
    """Why ``box`` is not a region of a picture (the fractions out of 0..1, or empty), or None."""
    values = (box.x1, box.y1, box.x2, box.y2)
    if any(not 0.0 <= v <= 1.0 for v in values):
        return "x1, y1, x2 and y2 are fractions of the picture's width and height, from 0 to 1"
    if not (box.x1 < box.x2 and box.y1 < box.y2):
        return "x1 must be less than x2 and y1 less than y2 (the top-left corner, then the bottom-right)"
    if box.start_s < 0 or (box.end_s is not None and box.end_s <= box.start_s):
        return "start_s must be 0 or more and end_s, when given, after start_s"
    return None


class AccessRequestRepo(Protocol):
    """Where requests are kept (``vigie.storage.access_requests``). ``save`` writes only while the stored request is
    in one of ``if_states`` (two processes never both move one request), and, with ``if_runner``, still in that
    process's hands: False when it was not."""

    def add(self, request: AccessRequest) -> AccessRequest: ...

    def get(self, request_id: int) -> AccessRequest | None: ...

    def list(self, commune_id: str, state: AccessRequestState | None = None) -> builtins.list[AccessRequest]: ...

    def save(
        self, request: AccessRequest, *, if_states: frozenset[AccessRequestState], if_runner: str | None = None
    ) -> bool: ...

    def beat(self, runner: str, at: datetime) -> None: ...

    def preparing(self) -> builtins.list[AccessRequest]: ...

    def ended_before(self, cutoff: datetime) -> builtins.list[AccessRequest]: ...


class CopyMaker(Protocol):
    """Makes and releases redacted copies (the runtime's is built on the segment index and store, the signed
    exporter and the redaction model). Slow: called from a worker thread."""

    def prepare(self, request_id: int, scope: CopyScope, folder: str, progress: ProgressFn) -> PreparedCopy:
        """Export the scope's original footage (segments checked, L15) into ``folder``, then write one redacted
        MP4 and its per-frame boxes per camera. Raises :class:`AccessRequestError` (nothing recorded, no model)."""
        ...

    def release(self, request: AccessRequest, package_folder: str, now: datetime) -> Release:
        """Sign a manifest of the approved copy's redacted files (the originals never go in) and zip them with it
        into a package in ``package_folder``; return what was released."""
        ...


class ProgressFn(Protocol):
    def __call__(self, done: int, total: int) -> None: ...
