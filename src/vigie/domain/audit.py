"""Audit records and how they are chained (L11): pure data and hashing, shared by storage and governance.

An entry's hash covers its canonical JSON (sorted keys, no insignificant whitespace, UTF-8, a subset of RFC 8785:
finite numbers only) together with the hash of the previous entry, so any modification, deletion, insertion or
reordering breaks the chain. Signing (Ed25519 checkpoints) lives in ``vigie.governance``; this module is only
hashing, so that the database layer can chain entries without importing governance.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the very first entry of a chain."""

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


class AuditAction(enum.StrEnum):
    """What happened. The vocabulary is closed so that reports and auditors can rely on it."""

    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGOUT = "logout"
    ACCESS_DENIED = "access.denied"
    USER_CREATED = "user.created"
    USER_CHANGED = "user.changed"
    SHARING_RECORDED = "sharing.recorded"
    SHARING_REVOKED = "sharing.revoked"
    LIVE_VIEWED = "video.live_viewed"
    LIVE_ENDED = "video.live_ended"
    PLAYBACK = "video.playback"
    SEARCH = "search"
    EXPORT = "video.export"
    EXPORT_DOWNLOADED = "video.export_downloaded"
    EXPORT_VERIFIED = "video.export_verified"
    DELETION = "video.deletion"
    CONFIG_CHANGED = "config.changed"
    SERVICE_STARTED = "service.started"
    SERVICE_STOPPED = "service.stopped"
    SERVICE_UNCLEAN_STOP = "service.unclean_stop"
    ANALYSIS_PLACED = "analysis.placed"
    """A camera's analysis started on, or moved to, another node of a cluster (its gate follows it)."""
    DATABASE_UNAVAILABLE = "database.unavailable"
    DATABASE_RECOVERED = "database.recovered"
    DATABASE_LOST = "database.lost"
    DATABASE_NEW = "database.new"
    ACTIVATION_REQUESTED = "activation.requested"
    ACTIVATION_REFUSED = "activation.refused"
    ACTIVATION_APPROVED = "activation.approved"
    ACTIVATION_REVOKED = "activation.revoked"
    ACTIVATION_UNVERIFIED = "activation.unverified"
    STOP_ENGAGED = "stop.engaged"
    STOP_RELEASED = "stop.released"
    GATE_OPENED = "gate.opened"
    GATE_CLOSED = "gate.closed"
    MODEL_REFUSED = "model.refused"
    ALERT_RAISED = "alert.raised"
    STREAM_ALARM = "stream.alarm"
    ALERT_VERDICT = "alert.verdict"
    PTZ_MOVED = "ptz.moved"
    AUTOTRACKING_STARTED = "autotracking.started"
    """A dome began to follow a target a person designated (``ptz_autotracking``, under an activation)."""
    AUTOTRACKING_ENDED = "autotracking.ended"
    """A dome stopped following its target: why, by whom, how many moves the system made meanwhile."""
    SPEAKER_PLAY_ORDERED = "speaker.play_ordered"
    """A person ordered a pre-recorded message played on speakers (written before any speaker is asked)."""
    SPEAKER_PLAY_RESULT = "speaker.play_result"
    """What the speakers of a play answered: played, or why not."""
    AUDIT_CHECKPOINT = "audit.checkpoint"
    AUDIT_KEY_ROTATED = "audit.key_rotated"
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_PRUNED = "audit.pruned"
    HOLD_PLACED = "hold.placed"
    HOLD_LIFTED = "hold.lifted"
    CASE_OPENED = "case.opened"
    """An investigator opened a case from a judicial requisition: its scope (cameras, period) (issue 22)."""
    CASE_READ = "case.read"
    """A person read a case, or the list of their commune's cases."""
    CASE_HOLDS_PLACED = "case.holds_placed"
    """Holds placed on a case's scope (each hold also has its own ``hold.placed``)."""
    CASE_CLOSED = "case.closed"
    """A case closed, with the decision about its holds (lifted or kept) and the reason."""
    CASE_SEARCH_STARTED = "case.search_started"
    """A forensic object search of a case's recordings started: the case, the cameras, the period."""
    CASE_SEARCH_FINISHED = "case.search_finished"
    """A search ended (done or failed) and how many objects it stored (never what they are)."""
    CASE_OBJECTS_READ = "case.objects_read"
    """A person read a page of a case's objects (the filters asked) or opened an object's thumbnail."""
    CASE_BOOKMARK_ADDED = "case.bookmark_added"
    """An investigator bookmarked an instant of a case's camera (the camera and instant; the note's length only)."""
    CASE_BOOKMARK_REMOVED = "case.bookmark_removed"
    """An investigator removed a bookmark of a case (the same details)."""
    ACCESS_REQUEST_RECORDED = "access_request.recorded"
    """A filmed person's request of access recorded (L19): its id, the kind of identity document, the receipt day
    and the deadline; never the person's name, contact or description (personal data)."""
    ACCESS_REQUEST_READ = "access_request.read"
    """A person read the commune's requests, one request, or opened a file of a copy (first time per file)."""
    ACCESS_REQUEST_SCOPED = "access_request.scoped"
    """The cameras and period of a request's copy set (a prepared copy dropped)."""
    ACCESS_REQUEST_COPY_STARTED = "access_request.copy_started"
    """A redacted copy started: the scope, and how many regions kept clear and boxes added by hand."""
    ACCESS_REQUEST_COPY_FINISHED = "access_request.copy_finished"
    """A redacted copy ready (files, frames, SHA-256s, the detector) or failed (why)."""
    ACCESS_REQUEST_REVIEWED = "access_request.reviewed"
    """A second person reviewed the copy: approved or not, how many frames (the comment's length only)."""
    ACCESS_REQUEST_RELEASED = "access_request.released"
    """The approved copy released as a signed package (its name, SHA-256s, the key)."""
    ACCESS_REQUEST_PACKAGE_DOWNLOADED = "access_request.package_downloaded"
    """The released package downloaded (each time)."""
    ACCESS_REQUEST_REFUSED = "access_request.refused"
    """A request refused, with its legal reason (the explanation's length only)."""
    ACCESS_REQUEST_EXTENDED = "access_request.extended"
    """The deadline extended by two months (the new deadline; the reason's length only)."""
    ACCESS_REQUEST_ERASED = "access_request.erased"
    """The personal data of ended requests erased and their copies deleted (the purge)."""
    LAYOUT_SAVED = "layout.saved"
    """A console layout saved, created or changed (its id, name, grid, cameras; issue 24)."""
    LAYOUT_SHARED = "layout.shared"
    """A layout shared with roles of the commune, or no longer (the roles)."""
    LAYOUT_DELETED = "layout.deleted"
    """A layout removed (by its owner, or a supervisor for a shared one)."""
    WALL_OUTPUT_SET = "wall_output.set"
    """What a video-wall output shows set from the console (the output, the grid, the cameras)."""
    ANALYSIS_CALIBRATION = "analysis.calibration"
    BACKUP_CREATED = "backup.created"
    BACKUP_RESTORED = "backup.restored"
    PLATE_READ_REFUSED = "plates.read_refused"
    """A plate read handed over where none may exist (a municipal tenant, no activation): dropped (L34)."""
    PLATE_MATCHES_READ = "plates.matches_read"
    PLATE_CROP_VIEWED = "plates.crop_viewed"
    PLATE_COUNTS_READ = "plates.counts_read"
    HIT_LIST_IMPORTED = "plates.hit_list_imported"
    PLATE_MATCH_HELD = "plates.match_held"
    PLATE_MATCH_RELEASED = "plates.match_released"
    PLATES_PURGED = "plates.purged"
    WEBHOOK_DELIVERED = "integration.webhook_delivered"
    """A webhook endpoint answered 2xx to a message (issue 21)."""
    WEBHOOK_FAILED = "integration.webhook_failed"
    """A webhook message given up after its endpoint's attempts."""
    WEBHOOK_DISABLED = "integration.webhook_disabled"
    """A webhook endpoint answered 410 Gone: disabled, its waiting messages dropped."""
    SITE_PLAN_UPLOADED = "site_plan.uploaded"
    """A person uploaded a site plan and placed it on the map (issue 24): its site, name, size, SHA-256, corners."""
    SITE_PLAN_REMOVED = "site_plan.removed"
    """A person removed a site plan from the map (issue 24)."""
    WEBHOOK_ENABLED = "integration.webhook_enabled"
    """An administrator re-enabled a webhook endpoint disabled by a 410 Gone answer."""
    WEBHOOK_ROWS_FORGOTTEN = "integration.webhook_rows_forgotten"
    """At a start of ``vigie serve``: the delivery rows of webhook endpoints no longer configured deleted (counts)."""
    SENSOR_LINK_TRIGGERED = "sensor.link_triggered"
    """A link rule of the configuration carried out for a sensor's reading (issue 21): the rule, the sensor, the
    action, the cameras, the outcome."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Something to record, before it gets its place in the chain. ``details`` must be JSON data."""

    actor: str
    action: AuditAction
    target: str
    details: Mapping[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    """When it happened; None means "now" at append time."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the chain, as stored and as exported."""

    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str

    def content(self) -> dict[str, Any]:
        """The hashed part of the entry (everything but its own hash)."""
        return entry_content(
            seq=self.seq,
            at=self.at,
            actor=self.actor,
            action=self.action,
            target=self.target,
            details=self.details,
            prev_hash=self.prev_hash,
        )

    def to_json(self) -> dict[str, Any]:
        return {**self.content(), "hash": self.hash}

    def is_consistent(self) -> bool:
        """Whether the stored hash is the hash of the content."""
        return entry_hash(self.content()) == self.hash


def format_time(at: datetime) -> str:
    """UTC, microseconds, ``Z``: one spelling per instant, so hashes do not depend on how time was written."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware (UTC)")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def entry_content(
    *, seq: int, at: datetime, actor: str, action: str, target: str, details: Mapping[str, Any], prev_hash: str
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": format_time(at),
        "actor": actor,
        "action": str(action),
        "target": target,
        "details": dict(details),
        "prev_hash": prev_hash,
    }


def canonical_json(value: Any) -> bytes:
    """Canonical bytes of JSON data: sorted keys, compact separators, UTF-8, finite numbers only."""
    _check_finite(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def entry_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(content))).hexdigest()


def seal(seq: int, event: AuditEvent, at: datetime, prev_hash: str) -> AuditRecord:
    """Build the chained record for ``event`` at position ``seq``, following ``prev_hash``.

    ``at`` is the event's time (``event.at`` when set, else the append time chosen by the caller).
    """
    # Round-trip through canonical JSON so that what is stored is exactly what was hashed (tuples → lists, …).
    details = json.loads(canonical_json(dict(event.details)))
    at = at.astimezone(UTC)
    content = entry_content(
        seq=seq,
        at=at,
        actor=event.actor,
        action=str(event.action),
        target=event.target,
        details=details,
        prev_hash=prev_hash,
    )
    return AuditRecord(seq, at, event.actor, str(event.action), event.target, details, prev_hash, entry_hash(content))


def _check_finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("audit details cannot hold NaN or infinity")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit detail keys must be strings, got {key!r}")
            _check_finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_finite(item)
