"""Statistics buckets (issue #6, L33): totals per time bucket of the counting modules, nothing per person.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "statistics",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("start", _INSTANT, nullable=False),
        sa.Column("end", _INSTANT, nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.UniqueConstraint("camera_id", "module", "start", name="uq_statistics_camera_id_module_start"),
    )
    op.create_index("ix_statistics_start", "statistics", ["start"])


def downgrade() -> None:
    op.drop_index("ix_statistics_start", table_name="statistics")
    op.drop_table("statistics")
