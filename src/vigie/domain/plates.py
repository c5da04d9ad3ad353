"""Plate reads (LAPI) and what the law lets a state service keep of them (L34, L35; CSI L233-1, L233-2).

A :class:`PlateRead` is one vehicle's plate, read and voted over the frames of its track, under an activation of
the ``plate_reading`` module. It carries the plate crop only (never the vehicle's occupants, L35), the camera,
the tenant, the time and the activation it ran under. The analysis workers hand reads to a
:class:`PlateReadSink`; the service behind it stores them, compares them with the tenant's hit lists and raises
an alert on a match, which a person confirms.

Retention is pure here, so that it is tested without a database: a read that matched no list is kept
:data:`NON_MATCH_RETENTION` (15 days), a match one calendar month (:func:`match_expiry`), unless a person placed
a hold on it for a procedure (a reference, who, when). Reads are written with the instant they expire at; the
purge deletes whatever has expired and is not held.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Protocol

from vigie.domain.clock import LEGAL_TIME_ZONE
from vigie.domain.geometry import Box

MODULE: Final = "plate_reading"
"""The catalogue's module id: reads exist only under an activation of it."""
MATCH_KIND: Final = "plate_match"
"""The kind of the alert a match raises."""
NON_MATCH_RETENTION: Final = timedelta(days=15)
"""A read that matched no hit list is deleted 15 days after it was made (L35, CSI L233-2)."""
MAX_CROP_BYTES: Final = 256 * 1024
"""A plate crop is a small JPEG (a few kB): anything larger is not a plate crop."""
MAX_PLATE_LENGTH: Final = 16
PLATE_PATTERN: Final = re.compile(r"^[A-Z0-9]{2,16}$")
"""A normalised plate: capitals and digits, no separator (``AB123CD``)."""
READ_MESSAGE_VERSION: Final = 1
"""Version of :class:`PlateRead` as it crosses processes; bump when a field changes meaning."""


class PlateReadRefusedError(PermissionError):
    """A read that may not be stored (not a state tenant, no activation in force); the message says why."""


@dataclass(frozen=True, slots=True)
class PlateRead:
    """One vehicle's plate as read, voted over its track's frames (what the analysis workers hand over)."""

    camera_id: str
    commune_id: str
    """The tenant owning the camera (a state service, L34)."""
    at: datetime
    """When the vehicle was seen (aware, UTC, from the service's injected clock)."""
    text: str
    """Normalised: capitals and digits, no separators (``AB123CD``)."""
    display: str
    """As printed (``AB-123-CD``)."""
    plate_format: str
    """``FR-SIV``, ``FR-FNI``, ``FR-W``, ``EU-generic``…"""
    confidence: float
    """0..1, from the agreement of the track's frames."""
    frames: int
    """How many frames voted."""
    crop_jpeg: bytes
    """JPEG of the plate alone (never the vehicle or its occupants, L35)."""
    activation_id: int
    """The ``plate_reading`` activation the read ran under."""
    box: Box | None = None
    """Where the plate was in the frame (normalised), the region of the alert a match raises."""
    model_version: str = ""
    version: int = READ_MESSAGE_VERSION

    def __post_init__(self) -> None:
        problem = read_problem(self)
        if problem is not None:
            raise ValueError(problem)


def read_problem(read: PlateRead) -> str | None:
    """Why ``read`` is not a well-formed read, or None."""
    checks = (
        (bool(read.camera_id and read.commune_id), "a plate read needs its camera and its tenant"),
        (read.at.utcoffset() is not None, f"a plate read's time must be aware (UTC), not {read.at.isoformat()}"),
        (
            bool(PLATE_PATTERN.match(read.text)),
            f"plate text {read.text!r} is not normalised (2 to 16 capitals and digits, no separator)",
        ),
        (0.0 <= read.confidence <= 1.0, f"confidence {read.confidence} is outside 0..1"),
        (read.frames >= 1, "a plate read comes from at least one frame"),
        (
            read.crop_jpeg.startswith(b"\xff\xd8") and len(read.crop_jpeg) <= MAX_CROP_BYTES,
            f"the plate crop must be a JPEG of at most {MAX_CROP_BYTES} bytes",
        ),
    )
    return next((message for ok, message in checks if not ok), None)


class PlateReadSink(Protocol):
    """Where the analysis workers hand plate reads (implemented by :class:`vigie.services.plates.PlateService`).

    ``record`` raises :class:`PlateReadRefusedError` when the read may not exist (a municipal tenant, no
    activation in force): the caller drops it and counts it, it is never kept elsewhere."""

    def record(self, read: PlateRead) -> None: ...


# --- hit lists -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HitListEntry:
    """One plate of a hit list: the normalised plate, why it is sought, and the list it belongs to."""

    plate: str
    reason: str
    list_name: str


@dataclass(frozen=True, slots=True)
class HitListImport:
    """One import of a hit-list file by a state tenant: the file's digest, how it was vouched for, by whom."""

    commune_id: str
    list_names: tuple[str, ...]
    entries: int
    sha256: str
    verified_by: str
    """``checksum`` (the importer gave the file's SHA-256) or ``signature:<key id>``."""
    imported_by: str
    imported_at: datetime
    id: int | None = None


# --- matches, holds, counts --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchHold:
    """A match kept past its month for a procedure (L35: "sauf procédure"), until lifted."""

    reference: str
    """The procedure's reference (case or requisition number)."""
    placed_by: str
    placed_at: datetime


@dataclass(frozen=True, slots=True)
class PlateMatch:
    """A read that matched a tenant's hit list: the only reads anyone may see."""

    id: int
    read_id: int
    commune_id: str
    camera_id: str
    at: datetime
    text: str
    display: str
    plate_format: str
    confidence: float
    list_name: str
    reason: str
    expires_at: datetime
    alert_id: int | None = None
    hold: MatchHold | None = None


@dataclass(frozen=True, slots=True)
class ReadCount:
    """How many plates one camera read on one Paris day and how many matched: all that is ever shown of the
    reads that matched nothing (L35)."""

    camera_id: str
    day: date
    reads: int
    matches: int


@dataclass(frozen=True, slots=True)
class PurgeResult:
    reads: int
    """Reads deleted (matched or not)."""
    matches: int
    """Of them, matches."""


class PlateRepo(Protocol):
    """Storage of reads, hit lists and matches (implemented by ``vigie.storage.plates.SqlPlateRepo``)."""

    def add_read(self, read: PlateRead, *, expires_at: datetime) -> int: ...

    def add_read_with_matches(
        self, read: PlateRead, hits: Sequence[HitListEntry], *, expires_at: datetime
    ) -> tuple[int, tuple[int, ...]]: ...

    def replace_lists(self, record: HitListImport, entries: Sequence[HitListEntry]) -> HitListImport: ...

    def hits(self, commune_id: str, plate: str) -> Sequence[HitListEntry]: ...

    def add_match(self, read_id: int, entry: HitListEntry, *, expires_at: datetime) -> int: ...

    def set_alert(self, match_id: int, alert_id: int) -> None: ...

    def matches(
        self,
        camera_ids: Sequence[str],
        *,
        since: datetime | None = None,
        alert_id: int | None = None,
        limit: int = 100,
    ) -> Sequence[PlateMatch]: ...

    def match(self, match_id: int) -> PlateMatch | None: ...

    def match_crop(self, match_id: int) -> bytes | None: ...

    def hold(self, match_id: int, hold: MatchHold | None) -> PlateMatch: ...

    def counts(self, camera_ids: Sequence[str], since: date, until: date) -> Sequence[ReadCount]: ...

    def imports(self, commune_id: str, limit: int = 50) -> Sequence[HitListImport]: ...

    def purge(self, now: datetime) -> PurgeResult: ...


# --- retention (pure) --------------------------------------------------------------------------------------------


def add_month(at: datetime) -> datetime:
    """The same Paris wall time one calendar month later, on the month's last day where the day does not exist
    (31 January -> 28 or 29 February): never longer than a month."""
    local = at.astimezone(LEGAL_TIME_ZONE)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    later = local.replace(year=year, month=month, day=day, tzinfo=None)
    return later.replace(tzinfo=LEGAL_TIME_ZONE).astimezone(at.tzinfo)


def non_match_expiry(read_at: datetime) -> datetime:
    """When a read that matched nothing must be gone (15 days, L35)."""
    return read_at + NON_MATCH_RETENTION


def match_expiry(read_at: datetime) -> datetime:
    """When a match must be gone unless held for a procedure (one month, L35)."""
    return add_month(read_at)


def expired(expires_at: datetime, now: datetime, hold: MatchHold | None = None) -> bool:
    """Whether a read (or match) whose retention ends at ``expires_at`` must be deleted at ``now``."""
    return hold is None and now >= expires_at


def legal_day_of(at: datetime) -> date:
    """The Paris calendar day of ``at``: reads are counted per camera per Paris day."""
    return at.astimezone(LEGAL_TIME_ZONE).date()
