"""A case's own bookmarks (issue 22): instants of the scope's cameras an investigator marked, each with a short
note; part of the case file (kept when it closes, deleted with it), read by case in the order of the instants.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "case_bookmarks",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", _ID, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
    )
    op.create_index("ix_case_bookmarks_case_at", "case_bookmarks", ["case_id", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_case_bookmarks_case_at", table_name="case_bookmarks")
    op.drop_table("case_bookmarks")
