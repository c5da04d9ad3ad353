"""Initial schema: events, latest camera status and camera health history.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Hand-written and portable: it must run on SQLite (batch mode) and PostgreSQL. Never import the application's
tables here: a migration is a frozen snapshot of the schema at its revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 64-bit keys on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the (64-bit) rowid that autoincrements.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# timestamptz on PostgreSQL; UTC wall time as fixed-width text on SQLite (see tables.UtcDateTime).
_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("started_at", _INSTANT, nullable=False),
        sa.Column("ended_at", _INSTANT, nullable=False),
        sa.Column("region_x", sa.Float(), nullable=False),
        sa.Column("region_y", sa.Float(), nullable=False),
        sa.Column("region_w", sa.Float(), nullable=False),
        sa.Column("region_h", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False, server_default=""),
        sa.Column("observations", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )
    op.create_index("ix_events_camera_id_started_at", "events", ["camera_id", "started_at"])
    op.create_index("ix_events_started_at", "events", ["started_at"])
    op.create_index("ix_events_ended_at", "events", ["ended_at"])

    op.create_table(
        "camera_status",
        sa.Column("camera_id", sa.String(128), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("fps_in", sa.Float(), nullable=False, server_default=sa.text("0")),
        sa.Column("frames_dropped", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )

    op.create_table(
        "camera_health_log",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("at", _INSTANT, nullable=False),
    )
    op.create_index("ix_camera_health_log_camera_id_at", "camera_health_log", ["camera_id", "at"])
    op.create_index("ix_camera_health_log_at", "camera_health_log", ["at"])


def downgrade() -> None:
    op.drop_table("camera_health_log")
    op.drop_table("camera_status")
    op.drop_index("ix_events_ended_at", table_name="events")
    op.drop_index("ix_events_started_at", table_name="events")
    op.drop_index("ix_events_camera_id_started_at", table_name="events")
    op.drop_table("events")
