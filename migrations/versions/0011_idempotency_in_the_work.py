"""Idempotency keys are written in the same transaction as the work they answer for: no
request ever holds a key while it runs, so the lease columns go, and in-flight rows (which
only a request killed mid-flight could have left) are removed.

Revision ID: 0011_idempotency_in_the_work
Revises: 0010_balance_limit
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_idempotency_in_the_work"
down_revision: str | None = "0010_balance_limit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEASE_COLUMNS = ("state", "lock_token", "locked_at")


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_keys WHERE state <> 'completed'")
    for column in LEASE_COLUMNS:  # plain DROP COLUMN on both engines (SQLite 3.35+)
        op.execute(f"ALTER TABLE idempotency_keys DROP COLUMN {column}")


def downgrade() -> None:
    op.add_column(
        "idempotency_keys",
        sa.Column("state", sa.String(length=16), server_default="completed", nullable=False),
    )
    op.add_column(
        "idempotency_keys",
        sa.Column(
            "lock_token",
            sa.Uuid(),
            server_default="00000000-0000-0000-0000-000000000000",
            nullable=False,
        ),
    )
    op.add_column(
        "idempotency_keys",
        sa.Column(
            "locked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
    )
