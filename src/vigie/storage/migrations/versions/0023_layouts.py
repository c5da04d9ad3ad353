"""The console's saved layouts and video-wall outputs (issue 24): a person's layouts of tiles (cameras, tours, the
alarm tile), each optionally shared with roles of the person's commune; and the layout each named wall output of a
commune shows now (the wall controller's browser reads it).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "layouts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("commune_id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(256), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("shared_roles", sa.String(256), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
    )
    op.create_index("ix_layouts_commune_owner", "layouts", ["commune_id", "owner"])
    op.create_table(
        "wall_outputs",
        sa.Column("commune_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("wall_outputs")
    op.drop_index("ix_layouts_commune_owner", table_name="layouts")
    op.drop_table("layouts")
