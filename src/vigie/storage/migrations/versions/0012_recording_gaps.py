"""Recording-gap alarms shared with every API process (issue 17): ``vigie serve``'s gap watch writes the gaps it
opens, closes and finds, and when it last checked; the health view of any process reads them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "recording_gaps",
        sa.Column("camera_id", sa.String(128), primary_key=True),
        sa.Column("started_at", _INSTANT, primary_key=True),
        sa.Column("ended_at", _INSTANT, nullable=True),
        sa.Column("noticed_at", _INSTANT, nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
    )
    op.create_index("ix_recording_gaps_ended_at", "recording_gaps", ["ended_at"])
    op.create_index("ix_recording_gaps_started_at", "recording_gaps", ["started_at"])
    op.create_table(
        "recording_watch",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("checked_at", _INSTANT, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("recording_watch")
    op.drop_index("ix_recording_gaps_started_at", table_name="recording_gaps")
    op.drop_index("ix_recording_gaps_ended_at", table_name="recording_gaps")
    op.drop_table("recording_gaps")
