"""The searches made under a case (issue 22): their jobs, kept in the database so that every API process and a
restarted server still answer them (the case's history: kept when its results are purged), and the hits of
motion-in-region searches (results, purged with the case).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "case_searches",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", _ID, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("camera_ids", sa.Text(), nullable=False),
        sa.Column("start", _INSTANT, nullable=False),
        sa.Column("end", _INSTANT, nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("found", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("requested_at", _INSTANT, nullable=False),
        sa.Column("finished_at", _INSTANT, nullable=True),
        sa.Column("runner", sa.String(128), nullable=False),
        sa.Column("heartbeat_at", _INSTANT, nullable=True),
    )
    op.create_index("ix_case_searches_case_requested", "case_searches", ["case_id", "requested_at", "id"])
    op.create_index("ix_case_searches_state", "case_searches", ["state"])
    op.create_table(
        "case_motion_hits",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", _ID, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("job_id", _ID, sa.ForeignKey("case_searches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("start", _INSTANT, nullable=False),
        sa.Column("end", _INSTANT, nullable=False),
        sa.Column("peak_at", _INSTANT, nullable=False),
        sa.Column("peak_fraction", sa.Float(), nullable=False),
    )
    op.create_index("ix_case_motion_hits_job_start", "case_motion_hits", ["job_id", "start", "id"])
    op.create_index("ix_case_motion_hits_case", "case_motion_hits", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_motion_hits_case", table_name="case_motion_hits")
    op.drop_index("ix_case_motion_hits_job_start", table_name="case_motion_hits")
    op.drop_table("case_motion_hits")
    op.drop_index("ix_case_searches_state", table_name="case_searches")
    op.drop_index("ix_case_searches_case_requested", table_name="case_searches")
    op.drop_table("case_searches")
