"""Recording (issue #4): the segment index, holds and the destruction register (L3–L5).

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-04

Hand-written and portable (SQLite and PostgreSQL). Segment rows are never deleted: a destroyed segment keeps its
row (state ``deleted``) and gets a register row. Never import the application's tables here: a migration is a
frozen snapshot of the schema at its revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("start", _INSTANT, nullable=False),
        sa.Column("end", _INSTANT, nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_changed_at", _INSTANT, nullable=True),
        sa.UniqueConstraint("key", name="uq_segments_key"),
    )
    op.create_index("ix_segments_camera_id", "segments", ["camera_id"])
    op.create_index("ix_segments_camera_id_start", "segments", ["camera_id", "start"])
    op.create_index("ix_segments_start", "segments", ["start"])
    op.create_index("ix_segments_end", "segments", ["end"])

    op.create_table(
        "holds",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("start", _INSTANT, nullable=False),
        sa.Column("end", _INSTANT, nullable=False),
        sa.Column("requisition_ref", sa.String(256), nullable=False),
        sa.Column("case_number", sa.String(256), nullable=False),
        sa.Column("officer", sa.String(256), nullable=False),
        sa.Column("placed_at", _INSTANT, nullable=False),
        sa.Column("placed_by", sa.String(256), nullable=False),
        sa.Column("lifted_at", _INSTANT, nullable=True),
        sa.Column("lifted_by", sa.String(256), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_holds_camera_id", "holds", ["camera_id"])
    op.create_index("ix_holds_lifted_at", "holds", ["lifted_at"])

    op.create_table(
        "destruction_register",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("segment_id", _ID, nullable=False),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("start", _INSTANT, nullable=False),
        sa.Column("end", _INSTANT, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("destroyed_at", _INSTANT, nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("transmitted_to_prosecutor_at", _INSTANT, nullable=True),
        sa.UniqueConstraint("segment_id", name="uq_destruction_register_segment_id"),
    )
    op.create_index("ix_destruction_register_camera_id_start", "destruction_register", ["camera_id", "start"])
    op.create_index("ix_destruction_register_destroyed_at", "destruction_register", ["destroyed_at"])


def downgrade() -> None:
    op.drop_index("ix_destruction_register_destroyed_at", table_name="destruction_register")
    op.drop_index("ix_destruction_register_camera_id_start", table_name="destruction_register")
    op.drop_table("destruction_register")
    op.drop_index("ix_holds_lifted_at", table_name="holds")
    op.drop_index("ix_holds_camera_id", table_name="holds")
    op.drop_table("holds")
    op.drop_index("ix_segments_end", table_name="segments")
    op.drop_index("ix_segments_start", table_name="segments")
    op.drop_index("ix_segments_camera_id_start", table_name="segments")
    op.drop_index("ix_segments_camera_id", table_name="segments")
    op.drop_table("segments")
