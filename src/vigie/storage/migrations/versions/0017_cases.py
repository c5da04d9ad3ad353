"""Cases (issue 22): investigations opened from a judicial requisition, whose scope (cameras, period) bounds every
search of the recordings made for them, with the holds placed for them and how they closed.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("commune_id", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(256), nullable=False),
        sa.Column("requisition_ref", sa.String(256), nullable=False),
        sa.Column("authority", sa.String(256), nullable=False),
        sa.Column("authority_kind", sa.String(16), nullable=False),
        sa.Column("requisition_date", sa.Date(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("camera_ids", sa.Text(), nullable=False),
        sa.Column("start", _INSTANT, nullable=False),
        sa.Column("end", _INSTANT, nullable=False),
        sa.Column("opened_by", sa.String(256), nullable=False),
        sa.Column("opened_at", _INSTANT, nullable=False),
        sa.Column("hold_ids", sa.Text(), nullable=False),
        sa.Column("closed_at", _INSTANT, nullable=True),
        sa.Column("closed_by", sa.String(256), nullable=True),
        sa.Column("hold_decision", sa.String(16), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_cases_commune_id_opened_at", "cases", ["commune_id", "opened_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_commune_id_opened_at", table_name="cases")
    op.drop_table("cases")
