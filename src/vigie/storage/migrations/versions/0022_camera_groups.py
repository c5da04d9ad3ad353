"""A person's own camera groups and favourites in the console's tree (issue 24), kept by the server so that they
follow the operator from workstation to workstation.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "camera_groups",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("cameras", sa.Text(), nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        sa.UniqueConstraint("owner", "kind", "name", name="uq_camera_groups_owner_kind_name"),
    )


def downgrade() -> None:
    op.drop_table("camera_groups")
