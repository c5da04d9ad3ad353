"""What API processes share (issue 17): several stateless API processes behind a load balancer find here the
single sign-ons begun on another process, the export jobs another process runs, and the failed logins with names
that are no account (throttled alike on every process).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pending_sign_ons",
        sa.Column("key_sha256", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(128), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("verifier", sa.String(128), nullable=False),
        sa.Column("redirect_uri", sa.String(2048), nullable=False),
        sa.Column("started_at", _INSTANT, nullable=False),
    )
    op.create_index("ix_pending_sign_ons_started_at", "pending_sign_ons", ["started_at"])
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(256), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("runner", sa.String(128), nullable=False),
        sa.Column("heartbeat_at", _INSTANT, nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
    )
    op.create_index("ix_export_jobs_owner_created_at", "export_jobs", ["owner", "created_at"])
    op.create_index("ix_export_jobs_state", "export_jobs", ["state"])
    op.create_table(
        "login_name_failures",
        sa.Column("name_key", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("until", _INSTANT, nullable=False),
    )
    op.create_index("ix_login_name_failures_until", "login_name_failures", ["until"])


def downgrade() -> None:
    op.drop_index("ix_login_name_failures_until", table_name="login_name_failures")
    op.drop_table("login_name_failures")
    op.drop_index("ix_export_jobs_state", table_name="export_jobs")
    op.drop_index("ix_export_jobs_owner_created_at", table_name="export_jobs")
    op.drop_table("export_jobs")
    op.drop_index("ix_pending_sign_ons_started_at", table_name="pending_sign_ons")
    op.drop_table("pending_sign_ons")
