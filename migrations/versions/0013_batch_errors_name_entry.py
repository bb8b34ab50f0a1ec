"""Ledger: a batch write names the entry that failed. `ledger_write_entries` re-raises an
entry's refusal (its SQLSTATE and message) with DETAIL "entry <id>", so a batch of deposits
can say which of its items would pass the balance limit (app/ledger/pg_functions.py).
SQLite writes a batch entry by entry in Python and needs nothing.

Downgrading restores the function as migration 0003 created it (kept verbatim below).

Revision ID: 0013_batch_errors_name_entry
Revises: 0012_accounts_on_first_use
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from app.ledger.pg_functions import PG_WRITE_ENTRIES

revision: str = "0013_batch_errors_name_entry"
down_revision: str | None = "0012_accounts_on_first_use"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_WRITE_ENTRIES)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_WRITE_ENTRIES_UNNAMED)


# ledger_write_entries as migration 0003 created it: a failed entry is not named.
PG_WRITE_ENTRIES_UNNAMED = r"""CREATE OR REPLACE FUNCTION ledger_write_entries(
    e_id uuid[], e_kind text[], e_phase text[], e_resolves uuid[], e_timeout timestamptz[],
    e_meta json[], e_fingerprint text[], e_created timestamptz[], e_rows int[], e_postings int[],
    r_account uuid[], r_shard int[], r_dp bigint[], r_cp bigint[], r_dq bigint[],
    r_cq bigint[], r_mode int[], r_flags int[],
    q_account uuid[], q_shard int[], q_currency text[], q_debit bigint[], q_credit bigint[]
) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
    results int[] := '{}';
    i int;
    row_start int := 1;
    posting_start int := 1;
BEGIN
    PERFORM 1 FROM ledger_balances b
     WHERE (b.account_id, b.shard) IN (SELECT * FROM unnest(r_account, r_shard))
        OR b.account_id IN (SELECT x.a FROM unnest(r_account, r_mode) AS x(a, m) WHERE x.m = 2)
     ORDER BY b.account_id, b.shard
       FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(e_id, 1), 0) LOOP
        results := results || ledger_write_entry(
            e_id[i], e_kind[i], e_phase[i], e_resolves[i], e_timeout[i], e_meta[i],
            e_fingerprint[i], e_created[i],
            r_account[row_start:e_rows[i]], r_shard[row_start:e_rows[i]],
            r_dp[row_start:e_rows[i]], r_cp[row_start:e_rows[i]],
            r_dq[row_start:e_rows[i]], r_cq[row_start:e_rows[i]],
            r_mode[row_start:e_rows[i]], r_flags[row_start:e_rows[i]],
            q_account[posting_start:e_postings[i]], q_shard[posting_start:e_postings[i]],
            q_currency[posting_start:e_postings[i]], q_debit[posting_start:e_postings[i]],
            q_credit[posting_start:e_postings[i]]);
        row_start := e_rows[i] + 1;
        posting_start := e_postings[i] + 1;
    END LOOP;
    RETURN results;
END
$$;

"""
