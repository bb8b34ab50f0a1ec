"""Ledger: set-based writes. `ledger_write_entry` locks an entry's balance rows in one
ordered statement, checks them in one query and changes them in one UPDATE, and
`ledger_ensure_accounts` creates new accounts and their balance rows with two INSERTs,
instead of a statement per row: an award or payout over 10,000 pledges (20,000 postings,
10,000 new escrow accounts) no longer runs 40,000 statements inside the function.
Semantics and error codes are unchanged (app/ledger/pg_functions.py). SQLite needs nothing.

Both lock an entry's (or batch's) rows by joining the plan to the balance rows, which uses
the primary key, where an OR of two IN lists scanned the whole table.

Downgrading restores the three functions as migrations 0010, 0012 and 0013 left them
(kept verbatim).

Revision ID: 0014_ledger_set_based_writes
Revises: 0013_batch_errors_name_entry
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from app.ledger.model import MAX_BALANCE
from app.ledger.pg_functions import PG_ENSURE_ACCOUNTS, PG_WRITE_ENTRIES, PG_WRITE_ENTRY

revision: str = "0014_ledger_set_based_writes"
down_revision: str | None = "0013_batch_errors_name_entry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_WRITE_ENTRY)
        op.execute(PG_WRITE_ENTRIES)
        op.execute(PG_ENSURE_ACCOUNTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_WRITE_ENTRY_ROW_BY_ROW)
        op.execute(PG_WRITE_ENTRIES_ROW_BY_ROW)
        op.execute(PG_ENSURE_ACCOUNTS_ROW_BY_ROW)


# The two functions as they were before: one statement per balance row and per account.
PG_WRITE_ENTRY_ROW_BY_ROW = (
    r"""
-- The PostgreSQL fast path of the ledger's write (app/ledger/pg_fastpath.py): the whole
-- entry in one round trip. Python plans the entry (validation, shards, lock order, which
-- rows need a check); this function only executes the plan, row by row in the given
-- (global) order, inside the caller's transaction. A checked row (mode 1: one shard; mode
-- 2: the sum of all the account's shards, locked) must keep the account's flag and, when
-- the change raises what the account holds (its balance plus pending credits), stay within
-- the limit of @MAX_BALANCE@ minor units.
-- Returns 0 when the entry was written, 1 when an entry with this id (or resolving the same
-- pending entry) already exists. Raises SQLSTATE TRL01 (limit flag; message
-- "account_id|available|requested"), TRL02 (balance row missing; message "account_id") or
-- TRL03 (balance limit; message "account_id|holding|requested|limit").
CREATE OR REPLACE FUNCTION ledger_write_entry(
    p_id uuid, p_kind text, p_phase text, p_resolves uuid, p_timeout timestamptz,
    p_meta json, p_fingerprint text, p_created timestamptz,
    r_account uuid[], r_shard int[], r_dp bigint[], r_cp bigint[], r_dq bigint[],
    r_cq bigint[], r_mode int[], r_flags int[],
    q_account uuid[], q_shard int[], q_currency text[], q_debit bigint[], q_credit bigint[]
) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    written uuid;
    i int;
    n int := coalesce(array_length(r_account, 1), 0);
    total record;
    change record;
    current_row record;
    headroom bigint;
    headroom_after bigint;
    requested bigint;
    holding bigint;
    rise bigint;
BEGIN
    INSERT INTO ledger_entries (id, kind, phase, resolves_id, timeout_at, meta, fingerprint, created_at)
    VALUES (p_id, p_kind, p_phase, p_resolves, p_timeout, p_meta, p_fingerprint, p_created)
    ON CONFLICT DO NOTHING RETURNING id INTO written;
    IF written IS NULL THEN
        RETURN 1;
    END IF;
    IF p_resolves IS NOT NULL THEN
        DELETE FROM ledger_open_pending WHERE entry_id = p_resolves;
    END IF;
    FOR i IN 1 .. n LOOP
        IF r_mode[i] = 2 THEN
            -- a limited account with several shards: lock them all, check the sum
            PERFORM 1 FROM ledger_balances WHERE account_id = r_account[i] ORDER BY shard FOR UPDATE;
            SELECT sum(debits_posted) AS dp, sum(credits_posted) AS cp,
                   sum(debits_pending) AS dq, sum(credits_pending) AS cq
              INTO total FROM ledger_balances WHERE account_id = r_account[i];
            SELECT sum(r_dp[j]) AS dp, sum(r_cp[j]) AS cp, sum(r_dq[j]) AS dq, sum(r_cq[j]) AS cq
              INTO change FROM generate_subscripts(r_account, 1) AS j
             WHERE r_account[j] = r_account[i];
            IF total.dp IS NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'TRL02', MESSAGE = r_account[i]::text;
            END IF;
            IF r_flags[i] = 1 THEN
                headroom := total.cp - total.dp - total.dq;
                requested := change.dp + change.dq;
                IF total.cp + change.cp - total.dp - change.dp - total.dq - change.dq < 0 THEN
                    RAISE EXCEPTION USING ERRCODE = 'TRL01',
                        MESSAGE = r_account[i]::text || '|' || headroom || '|' || requested;
                END IF;
                holding := total.cp + total.cq - total.dp;
                rise := change.cp + change.cq - change.dp;
            ELSE
                headroom := total.dp - total.cp - total.cq;
                requested := change.cp + change.cq;
                IF total.dp + change.dp - total.cp - change.cp - total.cq - change.cq < 0 THEN
                    RAISE EXCEPTION USING ERRCODE = 'TRL01',
                        MESSAGE = r_account[i]::text || '|' || headroom || '|' || requested;
                END IF;
                holding := total.dp + total.dq - total.cp;
                rise := change.dp + change.dq - change.cp;
            END IF;
            IF rise > 0 AND holding + rise > @MAX_BALANCE@ THEN
                RAISE EXCEPTION USING ERRCODE = 'TRL03', MESSAGE = r_account[i]::text || '|'
                    || holding || '|' || rise || '|' || @MAX_BALANCE@;
            END IF;
        END IF;
        IF r_mode[i] = 1 THEN
            UPDATE ledger_balances SET
                debits_posted = debits_posted + r_dp[i], credits_posted = credits_posted + r_cp[i],
                debits_pending = debits_pending + r_dq[i], credits_pending = credits_pending + r_cq[i]
             WHERE account_id = r_account[i] AND shard = r_shard[i]
               AND CASE WHEN r_flags[i] = 1
                   THEN credits_posted + r_cp[i] >= debits_posted + r_dp[i] + debits_pending + r_dq[i]
                        AND (r_cp[i] + r_cq[i] - r_dp[i] <= 0
                             OR credits_posted + r_cp[i] + credits_pending + r_cq[i]
                                - debits_posted - r_dp[i] <= @MAX_BALANCE@)
                   ELSE debits_posted + r_dp[i] >= credits_posted + r_cp[i] + credits_pending + r_cq[i]
                        AND (r_dp[i] + r_dq[i] - r_cp[i] <= 0
                             OR debits_posted + r_dp[i] + debits_pending + r_dq[i]
                                - credits_posted - r_cp[i] <= @MAX_BALANCE@)
                   END;
            IF NOT FOUND THEN
                SELECT debits_posted AS dp, credits_posted AS cp,
                       debits_pending AS dq, credits_pending AS cq
                  INTO current_row FROM ledger_balances
                 WHERE account_id = r_account[i] AND shard = r_shard[i];
                IF current_row.dp IS NULL THEN
                    RAISE EXCEPTION USING ERRCODE = 'TRL02', MESSAGE = r_account[i]::text;
                END IF;
                IF r_flags[i] = 1 THEN
                    headroom := current_row.cp - current_row.dp - current_row.dq;
                    requested := r_dp[i] + r_dq[i];
                    headroom_after := headroom + r_cp[i] - requested;
                    holding := current_row.cp + current_row.cq - current_row.dp;
                    rise := r_cp[i] + r_cq[i] - r_dp[i];
                ELSE
                    headroom := current_row.dp - current_row.cp - current_row.cq;
                    requested := r_cp[i] + r_cq[i];
                    headroom_after := headroom + r_dp[i] - requested;
                    holding := current_row.dp + current_row.dq - current_row.cp;
                    rise := r_dp[i] + r_dq[i] - r_cp[i];
                END IF;
                IF headroom_after < 0 THEN
                    RAISE EXCEPTION USING ERRCODE = 'TRL01', MESSAGE = r_account[i]::text || '|'
                        || headroom || '|' || requested;
                END IF;
                RAISE EXCEPTION USING ERRCODE = 'TRL03', MESSAGE = r_account[i]::text || '|'
                    || holding || '|' || rise || '|' || @MAX_BALANCE@;
            END IF;
        ELSE
            UPDATE ledger_balances SET
                debits_posted = debits_posted + r_dp[i], credits_posted = credits_posted + r_cp[i],
                debits_pending = debits_pending + r_dq[i], credits_pending = credits_pending + r_cq[i]
             WHERE account_id = r_account[i] AND shard = r_shard[i];
            IF NOT FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'TRL02', MESSAGE = r_account[i]::text;
            END IF;
        END IF;
    END LOOP;
    INSERT INTO ledger_postings (entry_id, account_id, shard, currency, debit, credit)
    SELECT p_id, q.account, q.shard, q.currency, q.debit, q.credit
      FROM unnest(q_account, q_shard, q_currency, q_debit, q_credit)
           WITH ORDINALITY AS q(account, shard, currency, debit, credit, position)
     ORDER BY q.position;
    INSERT INTO ledger_unsealed (entry_id) VALUES (p_id);
    IF p_phase = 'pending' THEN
        INSERT INTO ledger_open_pending (entry_id, timeout_at) VALUES (p_id, p_timeout);
    END IF;
    RETURN 0;
END
$$;
"""
).replace("@MAX_BALANCE@", str(MAX_BALANCE))


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


PG_WRITE_ENTRIES_ROW_BY_ROW = r"""
CREATE OR REPLACE FUNCTION ledger_write_entries(
    e_id uuid[], e_kind text[], e_phase text[], e_resolves uuid[], e_timeout timestamptz[],
    e_meta json[], e_fingerprint text[], e_created timestamptz[], e_rows int[], e_postings int[],
    r_account uuid[], r_shard int[], r_dp bigint[], r_cp bigint[], r_dq bigint[],
    r_cq bigint[], r_mode int[], r_flags int[],
    q_account uuid[], q_shard int[], q_currency text[], q_debit bigint[], q_credit bigint[]
) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
    results int[] := '{}';
    current int := 0;
    row_start int := 1;
    posting_start int := 1;
    failed_state text;
    failed_message text;
BEGIN
    PERFORM 1 FROM ledger_balances b
     WHERE (b.account_id, b.shard) IN (SELECT * FROM unnest(r_account, r_shard))
        OR b.account_id IN (SELECT x.a FROM unnest(r_account, r_mode) AS x(a, m) WHERE x.m = 2)
     ORDER BY b.account_id, b.shard
       FOR UPDATE;
    BEGIN
        FOR i IN 1 .. coalesce(array_length(e_id, 1), 0) LOOP
            current := i;
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
    EXCEPTION WHEN SQLSTATE 'TRL01' OR SQLSTATE 'TRL02' OR SQLSTATE 'TRL03' THEN
        GET STACKED DIAGNOSTICS failed_state = RETURNED_SQLSTATE,
                                failed_message = MESSAGE_TEXT;
        RAISE EXCEPTION USING ERRCODE = failed_state, MESSAGE = failed_message,
                              DETAIL = 'entry ' || e_id[current]::text;
    END;
    RETURN results;
END
$$;
"""
