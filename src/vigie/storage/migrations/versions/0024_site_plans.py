"""Site plans (issue 24): images of a site placed on the map by their four corners, with who uploaded them.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "site_plans",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("commune_id", sa.String(64), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("corners", sa.Text(), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(256), nullable=False),
        sa.Column("uploaded_at", _INSTANT, nullable=False),
    )
    op.create_index("ix_site_plans_commune_site", "site_plans", ["commune_id", "site_id"])


def downgrade() -> None:
    op.drop_index("ix_site_plans_commune_site", table_name="site_plans")
    op.drop_table("site_plans")
