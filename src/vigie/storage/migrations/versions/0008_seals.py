"""Seals on activations and approvals (issue #14, D2): the governance service's signature beside each row; and the
calibration run an activation request is based on (L32).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Hand-written and portable (SQLite and PostgreSQL). Never import the application's tables here. Rows recorded
before this revision get an empty seal: the gate refuses them (re-request and approve them again).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEAL_LENGTH = 255
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    for table in ("governance_activations", "governance_approvals"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("seal", sa.String(SEAL_LENGTH), nullable=False, server_default=""))
    with op.batch_alter_table("governance_activations") as batch:
        batch.add_column(sa.Column("calibration_seq", _ID, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("governance_activations") as batch:
        batch.drop_column("calibration_seq")
    for table in ("governance_activations", "governance_approvals"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("seal")
