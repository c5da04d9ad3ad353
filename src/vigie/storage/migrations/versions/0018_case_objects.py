"""A case's object index (issue 22): the objects the analysis found in the recordings of a case's scope, stored for
that case only (deleted with it), with the zones they entered and the lines they crossed, indexed for the searches
by class + colour + time, class + zone + direction, and cameras + class.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_OBJECT_INDEXES = {
    "ix_case_objects_class_colour": ["case_id", "object_class", "colour", "first_seen", "id", "last_seen"],
    "ix_case_objects_camera_class": ["case_id", "camera_id", "object_class", "first_seen", "id"],
    "ix_case_objects_first_seen": ["case_id", "first_seen", "id"],
    "ix_case_objects_dwell": ["case_id", "dwell_s"],
}


def upgrade() -> None:
    op.create_table(
        "case_objects",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", _ID, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("track_id", sa.BigInteger(), nullable=False),
        sa.Column("object_class", sa.String(16), nullable=False),
        sa.Column("colour", sa.String(16), nullable=True),
        sa.Column("first_seen", _INSTANT, nullable=False),
        sa.Column("last_seen", _INSTANT, nullable=False),
        sa.Column("dwell_s", sa.Float(), nullable=False),
        sa.Column("direction", sa.String(16), nullable=True),
        sa.Column("box_x", sa.Float(), nullable=False),
        sa.Column("box_y", sa.Float(), nullable=False),
        sa.Column("box_w", sa.Float(), nullable=False),
        sa.Column("box_h", sa.Float(), nullable=False),
        sa.Column("thumbnail_at", _INSTANT, nullable=False),
    )
    for name, columns in _OBJECT_INDEXES.items():
        op.create_index(name, "case_objects", columns)
    op.create_table(
        "case_object_zones",
        sa.Column(
            "object_id", _ID, sa.ForeignKey("case_objects.id", ondelete="CASCADE"), primary_key=True, nullable=False
        ),
        sa.Column("kind", sa.String(8), primary_key=True, nullable=False),
        sa.Column("name", sa.String(64), primary_key=True, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("object_class", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(16), nullable=True),
        sa.Column("first_seen", _INSTANT, nullable=False),
    )
    op.create_index(
        "ix_case_object_zones_search",
        "case_object_zones",
        ["case_id", "kind", "name", "object_class", "direction", "first_seen", "object_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_case_object_zones_search", table_name="case_object_zones")
    op.drop_table("case_object_zones")
    for name in _OBJECT_INDEXES:
        op.drop_index(name, table_name="case_objects")
    op.drop_table("case_objects")
