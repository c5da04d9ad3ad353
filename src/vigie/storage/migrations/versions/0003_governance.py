"""Governance (issue #3): activations with their cameras and zones, approvals, revocations, stop switches.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03

Hand-written and portable (SQLite and PostgreSQL). Approvals are UNIQUE per (activation, person) and per
(activation, role): the two-person rule holds in the schema too. Never import the application's tables here: a
migration is a frozen snapshot of the schema at its revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INSTANT = sa.DateTime(timezone=True)
_ACTIVATION = "governance_activations.id"


def upgrade() -> None:
    op.create_table(
        "governance_activations",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("module", sa.String(64), nullable=False),
        sa.Column("framework", sa.String(64), nullable=False),
        sa.Column("decision_number", sa.String(256), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("dpia_reference", sa.String(256), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("starts_at", _INSTANT, nullable=False),
        sa.Column("ends_at", _INSTANT, nullable=False),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("requested_role", sa.String(64), nullable=False),
        sa.Column("requested_at", _INSTANT, nullable=False),
    )
    op.create_index("ix_governance_activations_ends_at", "governance_activations", ["ends_at"])

    op.create_table(
        "governance_activation_cameras",
        sa.Column("activation_id", _ID, sa.ForeignKey(_ACTIVATION), primary_key=True),
        sa.Column("camera_id", sa.String(128), primary_key=True),
    )
    op.create_table(
        "governance_activation_zones",
        sa.Column("activation_id", _ID, sa.ForeignKey(_ACTIVATION), primary_key=True),
        sa.Column("zone_id", sa.String(64), primary_key=True),
    )
    op.create_table(
        "governance_approvals",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("activation_id", _ID, sa.ForeignKey(_ACTIVATION), nullable=False),
        sa.Column("approved_by", sa.String(256), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.UniqueConstraint("activation_id", "approved_by", name="uq_governance_approvals_person"),
        sa.UniqueConstraint("activation_id", "role", name="uq_governance_approvals_role"),
    )
    op.create_table(
        "governance_revocations",
        sa.Column("activation_id", _ID, sa.ForeignKey(_ACTIVATION), primary_key=True),
        sa.Column("revoked_by", sa.String(256), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
    )
    op.create_table(
        "governance_stop_switches",
        sa.Column("scope", sa.String(128), primary_key=True),
        sa.Column("engaged", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(256), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
    )
    op.create_table(
        "governance_stop_log",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(128), nullable=False),
        sa.Column("engaged", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(256), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
    )
    op.create_index("ix_governance_stop_log_at", "governance_stop_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_governance_stop_log_at", table_name="governance_stop_log")
    op.drop_table("governance_stop_log")
    op.drop_table("governance_stop_switches")
    op.drop_table("governance_revocations")
    op.drop_table("governance_approvals")
    op.drop_table("governance_activation_zones")
    op.drop_table("governance_activation_cameras")
    op.drop_index("ix_governance_activations_ends_at", table_name="governance_activations")
    op.drop_table("governance_activations")
