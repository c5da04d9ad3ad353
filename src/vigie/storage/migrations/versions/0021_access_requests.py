"""Filmed persons' requests of access (L19): the request, its steps (scope, prepared copy, review, refusal,
release, as JSON text) and the job preparing its redacted copy.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "access_requests",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("commune_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requester_name", sa.String(256), nullable=False),
        sa.Column("requester_contact", sa.String(256), nullable=False),
        sa.Column("identity_document", sa.String(32), nullable=False),
        sa.Column("identity_checked_by", sa.String(256), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("handled_by", sa.String(256), nullable=True),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("copy", sa.Text(), nullable=True),
        sa.Column("copy_error", sa.Text(), nullable=True),
        sa.Column("prepared_by", sa.String(256), nullable=True),
        sa.Column("review", sa.Text(), nullable=True),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.Column("release", sa.Text(), nullable=True),
        sa.Column("extended_because", sa.Text(), nullable=True),
        sa.Column("progress_done", sa.BigInteger(), nullable=True),
        sa.Column("progress_total", sa.BigInteger(), nullable=True),
        sa.Column("copies", sa.BigInteger(), nullable=False),
        sa.Column("runner", sa.String(128), nullable=True),
        sa.Column("heartbeat_at", _INSTANT, nullable=True),
        sa.Column("ended_at", _INSTANT, nullable=True),
        sa.Column("erased_at", _INSTANT, nullable=True),
    )
    op.create_index("ix_access_requests_commune_state", "access_requests", ["commune_id", "state"])
    op.create_index("ix_access_requests_state", "access_requests", ["state"])
    op.create_index("ix_access_requests_ended_at", "access_requests", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_access_requests_ended_at", table_name="access_requests")
    op.drop_index("ix_access_requests_state", table_name="access_requests")
    op.drop_index("ix_access_requests_commune_state", table_name="access_requests")
    op.drop_table("access_requests")
