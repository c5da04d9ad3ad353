"""The relational schema, as typed SQLAlchemy 2 mappings.

These classes describe the schema the migrations build (``migrations/versions``); a test compares the
two, so a change here without a migration fails. Rows are private to the storage layer: repositories turn
them into domain types (``Event``, ``CameraHealth``) before returning.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Float, Index, Integer, String, Text, TypeDecorator, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vigie.storage.errors import NaiveDatetimeError

ID = BigInteger().with_variant(Integer(), "sqlite")
"""Primary keys: 64-bit on PostgreSQL, SQLite's rowid alias (itself 64-bit) on SQLite."""

CAMERA_ID_LENGTH = 128
NAME_LENGTH = 64


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

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = require_aware(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


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
