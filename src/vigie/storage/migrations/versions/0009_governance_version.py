"""The governance version (issue 16, "push, don't poll"): a one-row counter that the database itself bumps on
every change to the tables the gate's rules come from, so that workers re-read their rules only when it moved.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Hand-written and portable (SQLite and PostgreSQL). Triggers, not the application, bump the counter: a row changed
straight in the database by hand reaches the workers too (and is then re-checked against its seals). On
PostgreSQL one statement bumps it once and notifies ``vigie_governance`` (the new version as payload) when its
transaction commits; SQLite has only row triggers, so it bumps once per row. Never import the application's
tables here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSION_TABLE = "governance_version"
CHANNEL = "vigie_governance"
GOVERNED = (
    "governance_activations",
    "governance_activation_cameras",
    "governance_activation_zones",
    "governance_approvals",
    "governance_revocations",
    "governance_stop_switches",
)
"""Every table ``SqlGovernanceStore.active_rules`` reads."""
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_FUNCTION = "vigie_governance_bump"
_BUMP = "UPDATE governance_version SET version = version + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        VERSION_TABLE,
        sa.Column("id", _ID, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_governance_version_one_row"),
    )
    op.execute("INSERT INTO governance_version (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""CREATE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
    {_BUMP} RETURNING version INTO v;
    PERFORM pg_notify('{CHANNEL}', coalesce(v::text, ''));
    RETURN NULL;
END
$$"""
        )
        for table in GOVERNED:
            op.execute(
                f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()"
            )
        return
    for table in GOVERNED:
        for event in ("insert", "update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_version_{event} AFTER {event.upper()} ON {table} "
                f"FOR EACH ROW BEGIN {_BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in GOVERNED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {_FUNCTION}()")
    else:
        for table in GOVERNED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_version_{event}")
    op.drop_table(VERSION_TABLE)
