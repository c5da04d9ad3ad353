"""The relational schema, as typed SQLAlchemy 2 mappings.

These classes describe the schema the migrations build (``migrations/versions``); a test compares the
two, so a change here without a migration fails. Rows are private to the storage layer: repositories turn
them into domain types (``Event``, ``CameraHealth``) before returning.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.sqlite import DATETIME as SqliteDATETIME
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from vigie.storage.errors import NaiveDatetimeError

ID = BigInteger().with_variant(Integer(), "sqlite")
"""Primary keys: 64-bit on PostgreSQL, SQLite's rowid alias (itself 64-bit) on SQLite."""

CAMERA_ID_LENGTH = 128
NAME_LENGTH = 64
SEAL_LENGTH = 255
"""``<key id>:<base64 Ed25519 signature>`` (105 characters today), with room for another scheme."""


def require_aware(value: datetime, what: str = "datetime") -> datetime:
    """Return ``value`` as UTC; refuse a naive datetime, whose instant cannot be known."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{what} {value.isoformat()} has no time zone: pass an aware datetime (e.g. datetime.now(UTC))"
        )
    return value.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """An instant: written from an aware datetime (naive ones are refused), always read back as aware UTC.

    PostgreSQL stores ``timestamptz``; SQLite, which has no time zone type, stores the UTC wall time as text
    in a fixed-width format, so text order is time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return _SqliteUtcText()  # type: ignore[no-untyped-call]
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | str | None:
        if value is None:
            return None
        utc = require_aware(value)
        if dialect.name == "sqlite":
            # SQLAlchemy's own SQLite format (fixed width, microseconds always), written by the C isoformat: its
            # %-formatting of a dict per value was a quarter of the CPU of writing a health event (the gap and its
            # MQTT message, bench/mqtt_throughput.py)
            return utc.replace(tzinfo=None).isoformat(" ", "microseconds")
        return utc

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite's text (also CURRENT_TIMESTAMP's "YYYY-MM-DD HH:MM:SS")
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _SqliteUtcText(SqliteDATETIME):
    """SQLite's DATETIME in the schema (the migrations' type), with no conversion of its own: UtcDateTime writes
    and reads the text itself."""

    def bind_processor(self, dialect: Dialect) -> None:
        return None

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        return None


class Base(DeclarativeBase):
    """Metadata of the Vigie schema."""

    type_annotation_map = {datetime: UtcDateTime()}  # noqa: RUF012 - read by SQLAlchemy, never mutated


class EventRow(Base):
    """One event: consecutive observations of one kind on one camera merged into an interval."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_camera_id_started_at", "camera_id", "started_at"),
        Index("ix_events_started_at", "started_at"),
        Index("ix_events_ended_at", "ended_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    module: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(NAME_LENGTH))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    region_x: Mapped[float] = mapped_column(Float)
    region_y: Mapped[float] = mapped_column(Float)
    region_w: Mapped[float] = mapped_column(Float)
    region_h: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(NAME_LENGTH * 2), server_default="")
    observations: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class CameraStatusRow(Base):
    """The latest health report of each camera (one row per camera, upserted)."""

    __tablename__ = "camera_status"

    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, server_default="")
    at: Mapped[datetime]
    fps_in: Mapped[float] = mapped_column(Float, server_default=text("0"))
    frames_dropped: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class HealthLogRow(Base):
    """One change of a camera's health state or reason; append-only, pruned by age."""

    __tablename__ = "camera_health_log"
    __table_args__ = (
        Index("ix_camera_health_log_camera_id_at", "camera_id", "at"),
        Index("ix_camera_health_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, server_default="")
    at: Mapped[datetime]


HASH_LENGTH = 64
"""A SHA-256 digest in lower-case hex."""


class AuditEntryRow(Base):
    """One entry of the hash-chained audit log (L11); append-only, never updated.

    ``seq`` is given by the writer (the head's seq + 1), not by the database. ``prev_hash`` and ``hash`` are
    UNIQUE so that two entries can never follow the same predecessor: the chain cannot fork, even if the
    writers' lock failed. ``details`` is the canonical JSON text of the details, exactly as hashed.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("prev_hash", name="uq_audit_entries_prev_hash"),
        UniqueConstraint("hash", name="uq_audit_entries_hash"),
        Index("ix_audit_entries_at", "at"),
    )

    seq: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(NAME_LENGTH))
    target: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AuditKeyRow(Base):
    """A public key that signed (or signs) audit checkpoints and exports; kept after retirement to verify."""

    __tablename__ = "audit_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


# --- Governance (issue #3): activations, approvals, revocations, stop switches -------------------------------

PERSON_LENGTH = 256
REFERENCE_LENGTH = 256
GLOBAL_STOP_SCOPE = "*"
"""``scope`` of the global stop switch; any other scope is a camera id."""


class ActivationRow(Base):
    """An activation request (L22, L23): module, tenant, legal basis, window, requester. Never updated."""

    __tablename__ = "governance_activations"
    __table_args__ = (Index("ix_governance_activations_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(NAME_LENGTH))
    module: Mapped[str] = mapped_column(String(NAME_LENGTH))
    framework: Mapped[str] = mapped_column(String(NAME_LENGTH))
    decision_number: Mapped[str] = mapped_column(String(REFERENCE_LENGTH))
    decision_date: Mapped[date | None] = mapped_column(Date)
    dpia_reference: Mapped[str] = mapped_column(String(REFERENCE_LENGTH))
    purpose: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    requested_role: Mapped[str] = mapped_column(String(NAME_LENGTH))
    requested_at: Mapped[datetime]
    calibration_seq: Mapped[int | None] = mapped_column(ID, nullable=True)
    """The audit entry of the on-site calibration run the request is based on (L32)."""
    seal: Mapped[str] = mapped_column(String(SEAL_LENGTH), server_default="")
    """The governance service's signature over the row (``vigie.governance.seal``); the gate verifies it."""


class ActivationCameraRow(Base):
    """A camera an activation covers."""

    __tablename__ = "governance_activation_cameras"

    activation_id: Mapped[int] = mapped_column(ID, ForeignKey("governance_activations.id"), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH), primary_key=True)


class ActivationZoneRow(Base):
    """A zone an activation is limited to (none: the whole image)."""

    __tablename__ = "governance_activation_zones"

    activation_id: Mapped[int] = mapped_column(ID, ForeignKey("governance_activations.id"), primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)


class ApprovalRow(Base):
    """One approval; at most one per person and one per role for an activation (two-person rule)."""

    __tablename__ = "governance_approvals"
    __table_args__ = (
        UniqueConstraint("activation_id", "approved_by", name="uq_governance_approvals_person"),
        UniqueConstraint("activation_id", "role", name="uq_governance_approvals_role"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    activation_id: Mapped[int] = mapped_column(ID, ForeignKey("governance_activations.id"))
    approved_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    role: Mapped[str] = mapped_column(String(NAME_LENGTH))
    at: Mapped[datetime]
    seal: Mapped[str] = mapped_column(String(SEAL_LENGTH), server_default="")


class RevocationRow(Base):
    """The revocation of an activation (at most one)."""

    __tablename__ = "governance_revocations"

    activation_id: Mapped[int] = mapped_column(ID, ForeignKey("governance_activations.id"), primary_key=True)
    revoked_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    role: Mapped[str] = mapped_column(String(NAME_LENGTH))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class StopSwitchRow(Base):
    """Current state of a stop switch (L29): ``scope`` is ``*`` for the global one, else a camera id."""

    __tablename__ = "governance_stop_switches"

    scope: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH), primary_key=True)
    engaged: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    role: Mapped[str] = mapped_column(String(NAME_LENGTH))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class StopSwitchLogRow(Base):
    """Every engagement and release of a stop switch; append-only."""

    __tablename__ = "governance_stop_log"
    __table_args__ = (Index("ix_governance_stop_log_at", "at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    engaged: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    role: Mapped[str] = mapped_column(String(NAME_LENGTH))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class GovernanceVersionRow(Base):
    """One row (``id`` 1): a counter the database's own triggers bump on every change to the tables the gate's
    rules come from (migration 0009); workers re-read their rules only when it moved."""

    __tablename__ = "governance_version"
    __table_args__ = (CheckConstraint("id = 1", name="ck_governance_version_one_row"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


# --- Recording (issue #4): segment index, holds, destruction register (L3–L5) ---------------------------------

SEGMENT_KEY_LENGTH = 512
"""A segment's key in the store (a relative path or an S3 object key)."""


class SegmentRow(Base):
    """One recorded segment; the row outlives the bytes (state ``deleted``) for the destruction register (L5)."""

    __tablename__ = "segments"
    __table_args__ = (
        UniqueConstraint("key", name="uq_segments_key"),
        Index("ix_segments_camera_id", "camera_id"),
        Index("ix_segments_camera_id_start", "camera_id", "start"),
        Index("ix_segments_start", "start"),
        Index("ix_segments_end", "end"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    key: Mapped[str] = mapped_column(String(SEGMENT_KEY_LENGTH))
    start: Mapped[datetime]
    end: Mapped[datetime]
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(HASH_LENGTH))
    state: Mapped[str] = mapped_column(String(16))
    state_changed_at: Mapped[datetime | None]


class HoldRow(Base):
    """A judicial or requisition hold (L4); lifted, never deleted."""

    __tablename__ = "holds"
    __table_args__ = (Index("ix_holds_camera_id", "camera_id"), Index("ix_holds_lifted_at", "lifted_at"))

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    start: Mapped[datetime]
    end: Mapped[datetime]
    requisition_ref: Mapped[str] = mapped_column(String(REFERENCE_LENGTH))
    case_number: Mapped[str] = mapped_column(String(REFERENCE_LENGTH))
    officer: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    placed_at: Mapped[datetime]
    placed_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    lifted_at: Mapped[datetime | None]
    lifted_by: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    lift_reason: Mapped[str | None] = mapped_column(Text)


class DestructionRegisterRow(Base):
    """The register of a recording (L5, R252-11): when it was transmitted to the prosecutor, when destroyed.

    One row per segment (``segment_id`` UNIQUE); a row may be written at transmission, before destruction.
    """

    __tablename__ = "destruction_register"
    __table_args__ = (
        UniqueConstraint("segment_id", name="uq_destruction_register_segment_id"),
        Index("ix_destruction_register_camera_id_start", "camera_id", "start"),
        Index("ix_destruction_register_destroyed_at", "destroyed_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    segment_id: Mapped[int] = mapped_column(ID)
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    key: Mapped[str] = mapped_column(String(SEGMENT_KEY_LENGTH))
    start: Mapped[datetime]
    end: Mapped[datetime]
    sha256: Mapped[str] = mapped_column(String(HASH_LENGTH))
    destroyed_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, server_default="")
    transmitted_to_prosecutor_at: Mapped[datetime | None]


# --- Alerts (issue #6): raised by event modules, decided by a person (L28, L31) --------------------------------


class AlertRow(Base):
    """One alert; its verdict is written once and never overwritten."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_state_at", "state", "at"),
        Index("ix_alerts_camera_id_at", "camera_id", "at"),
        Index("ix_alerts_module_camera_id", "module", "camera_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    module: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(NAME_LENGTH))
    at: Mapped[datetime]
    region_x: Mapped[float] = mapped_column(Float)
    region_y: Mapped[float] = mapped_column(Float)
    region_w: Mapped[float] = mapped_column(Float)
    region_h: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(NAME_LENGTH * 2))
    state: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str | None] = mapped_column(String(32))
    decided_by: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    decided_role: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    decided_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, server_default="")


class StatisticRow(Base):
    """One bucket of a statistics module (L33): a total or, when below the minimum count, nothing."""

    __tablename__ = "statistics"
    __table_args__ = (
        UniqueConstraint("camera_id", "module", "start", name="uq_statistics_camera_id_module_start"),
        Index("ix_statistics_start", "start"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    module: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(NAME_LENGTH))
    start: Mapped[datetime]
    end: Mapped[datetime]
    value: Mapped[float | None] = mapped_column(Float)


# --- Users, sessions and sharing agreements (issue #7; L8–L10, L17) ---------------------------------------------

USERNAME_LENGTH = 64


class UserRow(Base):
    """A named person's account; ``roles`` is a comma-separated list of role names."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("username", name="uq_users_username"),
        Index("ix_users_commune_id", "commune_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    display_name: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    commune_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    roles: Mapped[str] = mapped_column(String(256))
    password_hash: Mapped[str] = mapped_column(String(256))
    authorised_until: Mapped[date | None] = mapped_column(Date)
    trained_on: Mapped[date | None] = mapped_column(Date)
    totp_secret: Mapped[str | None] = mapped_column(String(512))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    disabled: Mapped[bool] = mapped_column(Boolean)
    failed_logins: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))


class SessionRow(Base):
    """A logged-in browser, found by the SHA-256 of its token (the token itself is never stored)."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"), Index("ix_user_sessions_expires_at", "expires_at"))

    token_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    user_id: Mapped[int] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    client: Mapped[str] = mapped_column(String(128), server_default="")


class SharingAgreementRow(Base):
    """An inter-communal sharing agreement: the owner's cameras are visible to the partner's users (L10)."""

    __tablename__ = "sharing_agreements"
    __table_args__ = (Index("ix_sharing_agreements_partner", "partner_commune"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    owner_commune: Mapped[str] = mapped_column(String(NAME_LENGTH))
    partner_commune: Mapped[str] = mapped_column(String(NAME_LENGTH))
    reference: Mapped[str] = mapped_column(String(REFERENCE_LENGTH))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    recorded_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


# --- What API processes share (issue 17): pending sign-ons, export jobs --------------------------------------------


class PendingSignOnRow(Base):
    """A single sign-on begun and not yet finished, found by the SHA-256 of the browser's cookie value; taken (and
    deleted) by whichever API process receives the provider's answer."""

    __tablename__ = "pending_sign_ons"
    __table_args__ = (Index("ix_pending_sign_ons_started_at", "started_at"),)

    key_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    state: Mapped[str] = mapped_column(String(128))
    nonce: Mapped[str] = mapped_column(String(128))
    verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    started_at: Mapped[datetime]


class ExportJobRow(Base):
    """An export asked through the API: the columns a query needs, the rest of the job as JSON (``document``).
    ``runner`` names the API process making it; ``heartbeat_at`` is when that process last said it was alive."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        Index("ix_export_jobs_owner_created_at", "owner", "created_at"),
        Index("ix_export_jobs_state", "state"),
    )

    id: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    owner: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]
    runner: Mapped[str] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime]
    cancel_requested: Mapped[bool] = mapped_column(Boolean)
    document: Mapped[str] = mapped_column(Text)


class LoginNameFailureRow(Base):
    """Failed logins in a row with a name that is no account, by keyed hash of the name (never the name)."""

    __tablename__ = "login_name_failures"
    __table_args__ = (Index("ix_login_name_failures_until", "until"),)

    name_key: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    until: Mapped[datetime]


class LiveEndpointRow(Base):
    """The node relay serving each camera's live tap in cluster mode, written by the control plane on placement
    changes and read by every API process (issue 17)."""

    __tablename__ = "live_endpoints"

    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    recorder_group: Mapped[str] = mapped_column(String(NAME_LENGTH * 2))
    since: Mapped[datetime]


class RecordingGapRow(Base):
    """A recording gap (issue 17), written by ``vigie serve``'s gap watch when it opens, closes or is found, read
    by every API process's health view. ``ended_at`` NULL: open (an alarm); ``seconds`` is set once it is closed.
    Kept 24 hours after it ended."""

    __tablename__ = "recording_gaps"
    __table_args__ = (
        Index("ix_recording_gaps_ended_at", "ended_at"),
        Index("ix_recording_gaps_started_at", "started_at"),
    )

    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(primary_key=True)
    ended_at: Mapped[datetime | None]
    noticed_at: Mapped[datetime]
    seconds: Mapped[float | None] = mapped_column(Float)


class RecordingWatchRow(Base):
    """One row (``id`` 1): when ``vigie serve``'s gap watch last checked the cameras; API processes say the
    recordings are watched while it is recent (issue 17)."""

    __tablename__ = "recording_watch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    checked_at: Mapped[datetime]


PLATE_LENGTH = 16
"""A normalised plate (``vigie.domain.plates.PLATE_PATTERN``)."""


class PlateReadRow(Base):
    """One plate read (LAPI, issue 18): the plate crop only, kept until ``expires_at`` (15 days, or a month once it
    matched a hit list, L35) unless a match on it is held. Never returned to anyone unless it matched."""

    __tablename__ = "plate_reads"
    __table_args__ = (
        Index("ix_plate_reads_expires_at", "expires_at"),
        Index("ix_plate_reads_camera_id_at", "camera_id", "at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    commune_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    at: Mapped[datetime]
    plate: Mapped[str] = mapped_column(String(PLATE_LENGTH))
    display: Mapped[str] = mapped_column(String(NAME_LENGTH))
    plate_format: Mapped[str] = mapped_column(String(NAME_LENGTH))
    confidence: Mapped[float] = mapped_column(Float)
    frames: Mapped[int] = mapped_column(Integer)
    crop_jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    activation_id: Mapped[int] = mapped_column(BigInteger)
    model_version: Mapped[str] = mapped_column(String(NAME_LENGTH * 2))
    expires_at: Mapped[datetime]


class PlateReadCountRow(Base):
    """Plates read and matched per camera per Paris day: all that is ever shown of reads that matched nothing."""

    __tablename__ = "plate_read_counts"

    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reads: Mapped[int] = mapped_column(BigInteger)
    matches: Mapped[int] = mapped_column(BigInteger)


class HitListImportRow(Base):
    """One import of a hit-list file: its SHA-256, how it was vouched for, who imported it and when."""

    __tablename__ = "hit_list_imports"
    __table_args__ = (Index("ix_hit_list_imports_commune_id", "commune_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    commune_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    list_names: Mapped[str] = mapped_column(Text)
    entries: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(HASH_LENGTH))
    verified_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    imported_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    imported_at: Mapped[datetime]


class HitListEntryRow(Base):
    """A plate a tenant's list seeks; a list's entries are replaced whole by each import naming it."""

    __tablename__ = "hit_list_entries"
    __table_args__ = (
        # (tenant, plate) first: the one lookup made for every read; a second index (tenant, plate) was ignored by
        # SQLite's planner in favour of this one when it began with the list, and scanned the tenant's lists.
        UniqueConstraint("commune_id", "plate", "list_name", name="uq_hit_list_entries_plate_list"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    commune_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    list_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    plate: Mapped[str] = mapped_column(String(PLATE_LENGTH))
    reason: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    import_id: Mapped[int] = mapped_column(ID, ForeignKey("hit_list_imports.id"))


class PlateMatchRow(Base):
    """A read that matched a list entry (the list's name and reason copied: a later import does not rewrite what
    was matched). Kept until ``expires_at`` unless held for a procedure (``hold_reference``)."""

    __tablename__ = "plate_matches"
    __table_args__ = (
        Index("ix_plate_matches_camera_id_at", "camera_id", "at"),
        Index("ix_plate_matches_expires_at", "expires_at"),
        Index("ix_plate_matches_alert_id", "alert_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    read_id: Mapped[int] = mapped_column(ID, ForeignKey("plate_reads.id", ondelete="CASCADE"))
    commune_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    at: Mapped[datetime]
    list_name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    reason: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    expires_at: Mapped[datetime]
    alert_id: Mapped[int | None] = mapped_column(BigInteger)
    hold_reference: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    hold_by: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    hold_at: Mapped[datetime | None]


# --- Integration bus (issue 21): messages kept until the MQTT broker acknowledged them -------------------------

TOPIC_LENGTH = 512


class MqttOutboxRow(Base):
    """One message for the MQTT broker: written with what it reports (a confirmed alert's verdict, a health
    event), published in ``seq`` order, ``sent_at`` set at its PUBACK. Unsent rows are published again after a
    reconnection or a restart; sent ones are kept a week, then purged."""

    __tablename__ = "mqtt_outbox"
    __table_args__ = (
        Index("ix_mqtt_outbox_sent_at_seq", "sent_at", "seq"),
        UniqueConstraint("message_id", name="uq_mqtt_outbox_message_id"),
    )

    seq: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36))
    topic: Mapped[str] = mapped_column(String(TOPIC_LENGTH))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    retain: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


# --- Webhooks (issue 21): deliveries kept until the receiver answered 2xx or the attempts were spent ------------


class WebhookDeliveryRow(Base):
    """One payload for one webhook endpoint: written with what it reports (a confirmed alert's verdict, a health
    event), sent in ``seq`` order by the endpoint's sender once ``next_attempt_at`` is reached. ``state``:
    ``waiting``, ``delivered``, ``failed`` (attempts spent) or ``dropped`` (the endpoint disabled); rows no longer
    waiting are kept a week, then purged."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "endpoint", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_done_at", "done_at"),
        UniqueConstraint("endpoint", "message_id", name="uq_webhook_deliveries_endpoint_message"),
    )

    seq: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36))
    endpoint: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    last_error: Mapped[str] = mapped_column(String(500))
    done_at: Mapped[datetime | None]


class WebhookEndpointDisabledRow(Base):
    """An endpoint that answered 410 Gone: nothing is sent to it while its configured URL has this digest."""

    __tablename__ = "webhook_endpoints_disabled"

    endpoint: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    url_sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500))


# --- Sensors (issue 21) -----------------------------------------------------------------------------------------

SENSOR_ID_LENGTH = 64


class SensorStatisticRow(Base):
    """One bucket of one measure of one sensor: totals only, never a reading (docs/integrations.md, *Sensors*). A
    bucket written twice keeps its first value."""

    __tablename__ = "sensor_statistics"
    __table_args__ = (
        UniqueConstraint("sensor_id", "measure", "start", name="uq_sensor_statistics_sensor_id_measure_start"),
        Index("ix_sensor_statistics_start", "start"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    sensor_id: Mapped[str] = mapped_column(String(SENSOR_ID_LENGTH))
    measure: Mapped[str] = mapped_column(String(NAME_LENGTH))
    start: Mapped[datetime]
    end: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer)
    total: Mapped[float | None] = mapped_column(Float)
    maximum: Mapped[float | None] = mapped_column(Float)


class SensorLinkEventRow(Base):
    """A link rule carried out (a bookmark on recordings, cameras shown on the wall, a dome sent to a preset); the
    console's live feed and playback read them. ``cameras`` is the camera ids joined by spaces."""

    __tablename__ = "sensor_link_events"
    __table_args__ = (Index("ix_sensor_link_events_at", "at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(SENSOR_ID_LENGTH))
    sensor_id: Mapped[str] = mapped_column(String(SENSOR_ID_LENGTH))
    action: Mapped[str] = mapped_column(String(32))
    cameras: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    observed_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(500))


class CaseRow(Base):
    """An investigation opened from a requisition (issue 22): its scope bounds every search of the recordings made
    for it. ``camera_ids`` and ``hold_ids`` are ids joined by spaces (camera ids are slugs)."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_commune_id_opened_at", "commune_id", "opened_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    commune_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    reference: Mapped[str] = mapped_column(String(REFERENCE_LENGTH))
    requisition_ref: Mapped[str] = mapped_column(String(REFERENCE_LENGTH))
    authority: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    authority_kind: Mapped[str] = mapped_column(String(16))
    requisition_date: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(Text)
    camera_ids: Mapped[str] = mapped_column(Text)
    start: Mapped[datetime]
    end: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    opened_at: Mapped[datetime]
    hold_ids: Mapped[str] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    hold_decision: Mapped[str | None] = mapped_column(String(16))
    close_reason: Mapped[str | None] = mapped_column(Text)


class CaseObjectRow(Base):
    """An object the analysis found in a case's recordings (issue 22), stored for that case only: deleted with the
    case (ON DELETE CASCADE) or by its purge. No column describes a person's appearance (L25).

    The indexes serve the searches of ``vigie.storage.case_objects`` (each led by ``case_id``: a search never
    reads another case's rows) and end with ``(first_seen, id)``, the order of the pages, so that one equality
    branch reads its first page straight from the index: class + colour (+ time, ``last_seen`` carried after the
    unique ``id`` to filter the overlap without reading the table), camera + class, time alone, and dwell (the
    case's longest dwell bounds the time range a window must scan).
    """

    __tablename__ = "case_objects"
    __table_args__ = (
        Index("ix_case_objects_class_colour", "case_id", "object_class", "colour", "first_seen", "id", "last_seen"),
        Index("ix_case_objects_camera_class", "case_id", "camera_id", "object_class", "first_seen", "id"),
        Index("ix_case_objects_first_seen", "case_id", "first_seen", "id"),
        Index("ix_case_objects_dwell", "case_id", "dwell_s"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ID, ForeignKey("cases.id", ondelete="CASCADE"))
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    track_id: Mapped[int] = mapped_column(BigInteger)
    object_class: Mapped[str] = mapped_column(String(16))
    colour: Mapped[str | None] = mapped_column(String(16))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    dwell_s: Mapped[float] = mapped_column(Float)
    direction: Mapped[str | None] = mapped_column(String(16))
    box_x: Mapped[float] = mapped_column(Float)
    box_y: Mapped[float] = mapped_column(Float)
    box_w: Mapped[float] = mapped_column(Float)
    box_h: Mapped[float] = mapped_column(Float)
    thumbnail_at: Mapped[datetime]


class CaseObjectZoneRow(Base):
    """A zone an object entered (``kind`` ``zone``) or a line it crossed (``line``): one row per name.

    A child table rather than PostgreSQL arrays with a GIN index: a B-tree works the same on SQLite and
    PostgreSQL, and with the object's class, direction and first sighting copied here (written once with the
    object, never updated) one index range — case, kind, name, class, direction — yields the objects in page order
    with no sort and no visit of objects that do not match; a GIN index answers "contains X" but neither orders nor
    combines with the class and direction in one scan.
    """

    __tablename__ = "case_object_zones"
    __table_args__ = (
        Index(
            "ix_case_object_zones_search",
            "case_id",
            "kind",
            "name",
            "object_class",
            "direction",
            "first_seen",
            "object_id",
        ),
    )

    object_id: Mapped[int] = mapped_column(ID, ForeignKey("case_objects.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    case_id: Mapped[int] = mapped_column(ID)
    object_class: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str | None] = mapped_column(String(16))
    first_seen: Mapped[datetime]


class CaseSearchRow(Base):
    """A search made under a case (issue 22): who asked what (kind, cameras, period, parameters as JSON text) and
    how it ended. The case's history: kept when the case closes and its results are purged (deleted with the case
    row only). ``runner`` and ``heartbeat_at``: the process running it, and when it last said it was alive."""

    __tablename__ = "case_searches"
    __table_args__ = (
        Index("ix_case_searches_case_requested", "case_id", "requested_at", "id"),
        Index("ix_case_searches_state", "state"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ID, ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    camera_ids: Mapped[str] = mapped_column(Text)
    start: Mapped[datetime]
    end: Mapped[datetime]
    parameters: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float)
    found: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    requested_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    runner: Mapped[str] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None]


class CaseMotionHitRow(Base):
    """A span where the region of a case's motion search changed (issue 22): a result, purged with the case."""

    __tablename__ = "case_motion_hits"
    __table_args__ = (
        Index("ix_case_motion_hits_job_start", "job_id", "start", "id"),
        Index("ix_case_motion_hits_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ID, ForeignKey("cases.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ID, ForeignKey("case_searches.id", ondelete="CASCADE"))
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    start: Mapped[datetime]
    end: Mapped[datetime]
    peak_at: Mapped[datetime]
    peak_fraction: Mapped[float] = mapped_column(Float)


class CaseBookmarkRow(Base):
    """An instant of a case's camera an investigator bookmarked, with a short note (issue 22). Part of the case file:
    kept when the case closes, deleted with the case (ON DELETE CASCADE) or by its purge. Read by case, in the order
    of the instants (``ix_case_bookmarks_case_at``)."""

    __tablename__ = "case_bookmarks"
    __table_args__ = (Index("ix_case_bookmarks_case_at", "case_id", "at", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ID, ForeignKey("cases.id", ondelete="CASCADE"))
    camera_id: Mapped[str] = mapped_column(String(CAMERA_ID_LENGTH))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    created_at: Mapped[datetime]


class AccessRequestRow(Base):
    """A filmed person's request of access (L19): who asked (name and contact: personal data, erased by the purge
    ``privacy.access_request_keep_days`` after the request ended), its state and steps. The steps' details (the
    scope, the prepared copy, the review, the refusal, the release) are JSON text written and read whole with the
    request: never searched on their own."""

    __tablename__ = "access_requests"
    __table_args__ = (
        Index("ix_access_requests_commune_state", "commune_id", "state"),
        Index("ix_access_requests_state", "state"),
        Index("ix_access_requests_ended_at", "ended_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    commune_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    state: Mapped[str] = mapped_column(String(16))
    requester_name: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    requester_contact: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    identity_document: Mapped[str] = mapped_column(String(32))
    identity_checked_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    received_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    created_at: Mapped[datetime]
    handled_by: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    scope: Mapped[str | None] = mapped_column(Text)
    copy: Mapped[str | None] = mapped_column(Text)
    copy_error: Mapped[str | None] = mapped_column(Text)
    prepared_by: Mapped[str | None] = mapped_column(String(PERSON_LENGTH))
    review: Mapped[str | None] = mapped_column(Text)
    refusal: Mapped[str | None] = mapped_column(Text)
    release: Mapped[str | None] = mapped_column(Text)
    extended_because: Mapped[str | None] = mapped_column(Text)
    progress_done: Mapped[int | None] = mapped_column(BigInteger)
    progress_total: Mapped[int | None] = mapped_column(BigInteger)
    copies: Mapped[int] = mapped_column(BigInteger)
    runner: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]


class CameraGroupRow(Base):
    """A person's own group of cameras, or their favourites (``kind`` ``favourites``, one row, no name), in the
    console's tree (issue 24). The camera ids are JSON text read and written whole (at most 400). Read by owner."""

    __tablename__ = "camera_groups"
    __table_args__ = (UniqueConstraint("owner", "kind", "name", name="uq_camera_groups_owner_kind_name"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(80))
    cameras: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class LayoutRow(Base):
    """A person's saved console layout (issue 24): the tiles as JSON text (read and written whole), and the roles
    of the owner's commune it is shared with (comma-separated, empty: the owner's only)."""

    __tablename__ = "layouts"
    __table_args__ = (Index("ix_layouts_commune_owner", "commune_id", "owner"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    commune_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    owner: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    name: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    shared_roles: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))


class WallOutputRow(Base):
    """What a commune's named video-wall output shows now (issue 24): the layout as JSON text, a version that grows
    with each change (the wall's browser asks for newer ones)."""

    __tablename__ = "wall_outputs"

    commune_id: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    updated_at: Mapped[datetime]


class SitePlanRow(Base):
    """A site plan (issue 24): an uploaded PNG or JPEG, decoded and checked before it is stored, placed on the map by
    its four corners (``corners``: JSON ``[[lon, lat], ...]``, top-left first, clockwise)."""

    __tablename__ = "site_plans"
    __table_args__ = (Index("ix_site_plans_commune_site", "commune_id", "site_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    commune_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    site_id: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name: Mapped[str] = mapped_column(String(100))
    media_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    corners: Mapped[str] = mapped_column(Text)
    image: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(PERSON_LENGTH))
    uploaded_at: Mapped[datetime]
