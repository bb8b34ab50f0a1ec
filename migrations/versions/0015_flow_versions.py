"""Flows: each rollup row counts its changes (`flow_totals.version`), so a public view's
version is the sum over its rows and a rendered view is cached until it moves
(app/api/flows_cache.py). Existing rows start at 0; the next change counts from there.

Revision ID: 0015_flow_versions
Revises: 0014_ledger_set_based_writes
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_flow_versions"
down_revision: str | None = "0014_ledger_set_based_writes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "flow_totals",
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE flow_totals DROP COLUMN version")
