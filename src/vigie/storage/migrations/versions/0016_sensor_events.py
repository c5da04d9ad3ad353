"""Sensors (issue 21): time-bucketed statistics of the sensors' readings (totals only) and the record of the link
rules carried out (bookmarks, cameras shown on the wall, domes sent to a preset).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sensor_statistics",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sensor_id", sa.String(64), nullable=False),
        sa.Column("measure", sa.String(64), nullable=False),
        sa.Column("start", _INSTANT, nullable=False),
        sa.Column("end", _INSTANT, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=True),
        sa.Column("maximum", sa.Float(), nullable=True),
        sa.UniqueConstraint("sensor_id", "measure", "start", name="uq_sensor_statistics_sensor_id_measure_start"),
    )
    op.create_index("ix_sensor_statistics_start", "sensor_statistics", ["start"])
    op.create_table(
        "sensor_link_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("sensor_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("cameras", sa.Text(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("observed_at", _INSTANT, nullable=False),
        sa.Column("outcome", sa.String(500), nullable=False),
    )
    op.create_index("ix_sensor_link_events_at", "sensor_link_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_sensor_link_events_at", table_name="sensor_link_events")
    op.drop_table("sensor_link_events")
    op.drop_index("ix_sensor_statistics_start", table_name="sensor_statistics")
    op.drop_table("sensor_statistics")
