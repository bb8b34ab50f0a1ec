"""Ledger accounts are created on first use, in the same round trip as the write that uses
them (ids derive from natural keys, so nobody looks an account up first): the server-side
function `ledger_ensure_accounts` (app/ledger/pg_functions.py).

Revision ID: 0012_accounts_on_first_use
Revises: 0011_idempotency_in_the_work
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from app.ledger.pg_functions import PG_ENSURE_ACCOUNTS

revision: str = "0012_accounts_on_first_use"
down_revision: str | None = "0011_idempotency_in_the_work"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_ENSURE_ACCOUNTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_ensure_accounts")
