"""Alerts (issue #6): raised by event modules, decided by a person (L28, L31).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("region_x", sa.Float(), nullable=False),
        sa.Column("region_y", sa.Float(), nullable=False),
        sa.Column("region_w", sa.Float(), nullable=False),
        sa.Column("region_h", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=True),
        sa.Column("decided_by", sa.String(256), nullable=True),
        sa.Column("decided_role", sa.String(64), nullable=True),
        sa.Column("decided_at", _INSTANT, nullable=True),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index("ix_alerts_state_at", "alerts", ["state", "at"])
    op.create_index("ix_alerts_camera_id_at", "alerts", ["camera_id", "at"])
    op.create_index("ix_alerts_module_camera_id", "alerts", ["module", "camera_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_module_camera_id", table_name="alerts")
    op.drop_index("ix_alerts_camera_id_at", table_name="alerts")
    op.drop_index("ix_alerts_state_at", table_name="alerts")
    op.drop_table("alerts")
