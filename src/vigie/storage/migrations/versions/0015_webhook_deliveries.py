"""Webhook deliveries (issue 21): payloads for the configured endpoints, written in the transaction of what they
report (a confirmed alert's verdict, a health event), sent and retried by ``vigie serve``; and the endpoints that
answered 410 Gone.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("seq", _ID, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("next_attempt_at", _INSTANT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.Column("done_at", _INSTANT, nullable=True),
        sa.UniqueConstraint("endpoint", "message_id", name="uq_webhook_deliveries_endpoint_message"),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["endpoint", "state", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_done_at", "webhook_deliveries", ["done_at"])
    op.create_table(
        "webhook_endpoints_disabled",
        sa.Column("endpoint", sa.String(64), primary_key=True),
        sa.Column("url_sha256", sa.String(64), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_endpoints_disabled")
    op.drop_index("ix_webhook_deliveries_done_at", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
