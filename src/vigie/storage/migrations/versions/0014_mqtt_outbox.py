"""The MQTT outbox (issue 21): messages for the broker, written in the transaction of what they report (a confirmed
alert's verdict, a health event) and marked sent at the broker's acknowledgement.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mqtt_outbox",
        sa.Column("seq", _ID, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("topic", sa.String(512), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("retain", sa.Boolean(), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("sent_at", _INSTANT, nullable=True),
        sa.UniqueConstraint("message_id", name="uq_mqtt_outbox_message_id"),
    )
    op.create_index("ix_mqtt_outbox_sent_at_seq", "mqtt_outbox", ["sent_at", "seq"])


def downgrade() -> None:
    op.drop_index("ix_mqtt_outbox_sent_at_seq", table_name="mqtt_outbox")
    op.drop_table("mqtt_outbox")
