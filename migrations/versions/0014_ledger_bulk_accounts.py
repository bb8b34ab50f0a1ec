"""Ledger: new accounts in bulk. `ledger_ensure_accounts` creates an entry's new accounts and
their balance rows with two INSERTs instead of two per account, and checks only the
accounts that existed already (a primary-key lookup each): an award over 10,000 pledges
opens 10,000 escrow accounts. Semantics and error codes are unchanged
(app/ledger/pg_functions.py). SQLite needs nothing.

(A set-based `ledger_write_entry` was tried too and dropped: joins of the plan to the
balance rows were planned from cached plans and stale statistics into quadratic nested
loops on fast-growing tables; the row-by-row primary-key updates never are.)

Downgrading restores the function as migration 0012 created it (kept verbatim below).

Revision ID: 0014_ledger_bulk_accounts
Revises: 0013_batch_errors_name_entry
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from app.ledger.pg_functions import PG_ENSURE_ACCOUNTS

revision: str = "0014_ledger_bulk_accounts"
down_revision: str | None = "0013_batch_errors_name_entry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_ENSURE_ACCOUNTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_ENSURE_ACCOUNTS_ROW_BY_ROW)


# The two functions as they were before: one statement per balance row and per account.
PG_ENSURE_ACCOUNTS_ROW_BY_ROW = r"""
CREATE OR REPLACE FUNCTION ledger_ensure_accounts(
    a_id uuid[], a_code text[], a_currency text[], a_owner text[], a_flags int[], a_shards int[],
    a_created timestamptz
) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    i int;
    made uuid;
    existing record;
BEGIN
    FOR i IN 1 .. coalesce(array_length(a_id, 1), 0) LOOP
        INSERT INTO ledger_accounts (id, code, currency, owner_ref, flags, shards, meta, created_at)
        VALUES (a_id[i], a_code[i], a_currency[i], a_owner[i], a_flags[i], a_shards[i], '{}', a_created)
        ON CONFLICT DO NOTHING RETURNING id INTO made;
        IF made IS NOT NULL THEN
            INSERT INTO ledger_balances
                   (account_id, shard, debits_posted, credits_posted, debits_pending, credits_pending)
            SELECT a_id[i], s, 0, 0, 0, 0 FROM generate_series(0, a_shards[i] - 1) AS s;
        ELSE
            SELECT flags, shards INTO existing FROM ledger_accounts WHERE id = a_id[i];
            IF existing.flags IS DISTINCT FROM a_flags[i] OR existing.shards IS DISTINCT FROM a_shards[i] THEN
                RAISE EXCEPTION USING ERRCODE = 'TRL04', MESSAGE = a_id[i]::text;
            END IF;
        END IF;
    END LOOP;
    RETURN 0;
END
$$;
"""
