"""Where each camera's live tap is served in cluster mode (issue 17): the control plane records the node relay of
every recording group as it is placed, moved or lost; API processes on other machines read it to reach the tap.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_endpoints",
        sa.Column("camera_id", sa.String(128), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("recorder_group", sa.String(128), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("live_endpoints")
