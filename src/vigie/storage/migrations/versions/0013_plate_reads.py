"""Plate reads (LAPI, issue 18): reads in their own table with the instant they expire at (L35), per-camera daily
counts, the hit lists a state tenant imports (each import with its SHA-256), and matches with their procedure holds.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plate_reads",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("commune_id", sa.String(64), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("display", sa.String(64), nullable=False),
        sa.Column("plate_format", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("crop_jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("activation_id", sa.BigInteger(), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("expires_at", _INSTANT, nullable=False),
    )
    op.create_index("ix_plate_reads_expires_at", "plate_reads", ["expires_at"])
    op.create_index("ix_plate_reads_camera_id_at", "plate_reads", ["camera_id", "at"])
    op.create_table(
        "plate_read_counts",
        sa.Column("camera_id", sa.String(128), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("reads", sa.BigInteger(), nullable=False),
        sa.Column("matches", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "hit_list_imports",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("commune_id", sa.String(64), nullable=False),
        sa.Column("list_names", sa.Text(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("verified_by", sa.String(64), nullable=False),
        sa.Column("imported_by", sa.String(256), nullable=False),
        sa.Column("imported_at", _INSTANT, nullable=False),
    )
    op.create_index("ix_hit_list_imports_commune_id", "hit_list_imports", ["commune_id"])
    op.create_table(
        "hit_list_entries",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("commune_id", sa.String(64), nullable=False),
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(256), nullable=False),
        sa.Column("import_id", _ID, sa.ForeignKey("hit_list_imports.id"), nullable=False),
        sa.UniqueConstraint("commune_id", "plate", "list_name", name="uq_hit_list_entries_plate_list"),
    )
    op.create_table(
        "plate_matches",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("read_id", _ID, sa.ForeignKey("plate_reads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("commune_id", sa.String(64), nullable=False),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(256), nullable=False),
        sa.Column("expires_at", _INSTANT, nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=True),
        sa.Column("hold_reference", sa.String(256), nullable=True),
        sa.Column("hold_by", sa.String(256), nullable=True),
        sa.Column("hold_at", _INSTANT, nullable=True),
    )
    op.create_index("ix_plate_matches_camera_id_at", "plate_matches", ["camera_id", "at"])
    op.create_index("ix_plate_matches_expires_at", "plate_matches", ["expires_at"])
    op.create_index("ix_plate_matches_alert_id", "plate_matches", ["alert_id"])


def downgrade() -> None:
    op.drop_table("plate_matches")
    op.drop_table("hit_list_entries")
    op.drop_table("hit_list_imports")
    op.drop_table("plate_read_counts")
    op.drop_table("plate_reads")
