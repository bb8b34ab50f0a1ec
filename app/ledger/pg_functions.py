"""The PostgreSQL functions of the ledger's fast path, beside the code that calls them.

`pg_fastpath.py` plans an entry in Python and calls `ledger_write_entry` (or
`ledger_write_entries` for a batch) to execute the plan in one round trip; `ledger_forbid_change`
backs the journal's append-only triggers. Migrations create them from these definitions
(CREATE OR REPLACE: creating them again is harmless); a change to one is a new migration that
runs the new text (0010_balance_limit keeps the text it replaces, for its downgrade).
"""

from __future__ import annotations

from app.ledger.model import MAX_BALANCE

PG_FORBID = """
CREATE OR REPLACE FUNCTION ledger_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger journal is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$
"""


# The PostgreSQL fast path of a ledger write (app/ledger/pg_fastpath.py), with the balance
# limit (MAX_BALANCE) since migration 0009.
PG_WRITE_ENTRY = (
    r"""
-- The PostgreSQL fast path of the ledger's write (app/ledger/pg_fastpath.py): the whole
-- entry in one round trip. Python plans the entry (validation, shards, lock order, which
-- rows need a check); this function executes the plan inside the caller's transaction,
-- set-based: it locks every row the entry changes in the global (account, shard) order,
-- checks them, then changes them all in one UPDATE, so an entry of thousands of postings
-- costs a handful of statements. A checked row (mode 1: one shard; mode 2: the sum of all
-- the account's shards) must keep the account's flag and, when the change raises what the
-- account holds (its balance plus pending credits), stay within the limit of @MAX_BALANCE@
-- minor units.
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
    -- every row the entry changes, and every shard of a mode-2 account, in the global order
    -- (`account_id = ANY(...)` keeps this an index scan of the primary key whatever the
    -- table's statistics say; a join to the plan could be hashed over a full scan)
    PERFORM 1 FROM ledger_balances b
     WHERE b.account_id = ANY(r_account)
       AND (b.account_id = ANY(SELECT x.a FROM unnest(r_account, r_mode) AS x(a, m) WHERE x.m = 2)
            OR (b.account_id, b.shard) IN (SELECT * FROM unnest(r_account, r_shard)))
     ORDER BY b.account_id, b.shard
       FOR UPDATE;
    FOR i IN 1 .. n LOOP
        CONTINUE WHEN r_mode[i] <> 2;
        -- a limited account with several shards: check the sum of its (locked) shards
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
    END LOOP;
    -- the first row (in plan order) that is missing or whose single-row check fails
    SELECT r.pos INTO i
      FROM unnest(r_account, r_shard, r_dp, r_cp, r_dq, r_cq, r_mode, r_flags)
           WITH ORDINALITY AS r(account, shard, dp, cp, dq, cq, mode, flags, pos)
      LEFT JOIN ledger_balances b
             ON b.account_id = r.account AND b.shard = r.shard AND b.account_id = ANY(r_account)
     WHERE b.account_id IS NULL OR (r.mode = 1 AND NOT CASE WHEN r.flags = 1
               THEN b.credits_posted + r.cp >= b.debits_posted + r.dp + b.debits_pending + r.dq
                    AND (r.cp + r.cq - r.dp <= 0
                         OR b.credits_posted + r.cp + b.credits_pending + r.cq
                            - b.debits_posted - r.dp <= @MAX_BALANCE@)
               ELSE b.debits_posted + r.dp >= b.credits_posted + r.cp + b.credits_pending + r.cq
                    AND (r.dp + r.dq - r.cp <= 0
                         OR b.debits_posted + r.dp + b.debits_pending + r.dq
                            - b.credits_posted - r.cp <= @MAX_BALANCE@)
               END)
     ORDER BY r.pos LIMIT 1;
    IF i IS NOT NULL THEN
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
    UPDATE ledger_balances b SET
        debits_posted = b.debits_posted + r.dp, credits_posted = b.credits_posted + r.cp,
        debits_pending = b.debits_pending + r.dq, credits_pending = b.credits_pending + r.cq
      FROM unnest(r_account, r_shard, r_dp, r_cp, r_dq, r_cq) AS r(account, shard, dp, cp, dq, cq)
     WHERE b.account_id = r.account AND b.shard = r.shard AND b.account_id = ANY(r_account);
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


# A batch of planned entries in one round trip (app/ledger/pg_fastpath.py: write_many):
# every balance row of the batch is locked first, in one ordered pass, so batches running
# at once cannot deadlock; then each entry is written by ledger_write_entry. Returns, per
# entry, 0 (written) or 1 (its id was taken). An entry refused with one of the ledger's own
# SQLSTATEs (TRL01-TRL03) is re-raised with the same state and message and DETAIL "entry
# <id>", so the caller can say which entry of the batch failed (since migration 0013).
PG_WRITE_ENTRIES = r"""
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
    -- (`account_id = ANY(...)` keeps this an index scan of the primary key whatever the
    -- table's statistics say; a join to the plan could be hashed over a full scan)
    PERFORM 1 FROM ledger_balances b
     WHERE b.account_id = ANY(r_account)
       AND (b.account_id = ANY(SELECT x.a FROM unnest(r_account, r_mode) AS x(a, m) WHERE x.m = 2)
            OR (b.account_id, b.shard) IN (SELECT * FROM unnest(r_account, r_shard)))
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


# Accounts a write uses that this process has not seen in the database yet (declared from
# their natural key: ids are derived): created on first use, in the same round trip as the
# write (pg_fastpath calls it in a CTE before ledger_write_entry), with one balance row per
# shard. An existing account with other flags or shards raises TRL04 ("account_id").
PG_ENSURE_ACCOUNTS = r"""
CREATE OR REPLACE FUNCTION ledger_ensure_accounts(
    a_id uuid[], a_code text[], a_currency text[], a_owner text[], a_flags int[], a_shards int[],
    a_created timestamptz
) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    conflicting uuid;
BEGIN
    WITH made AS (
        INSERT INTO ledger_accounts (id, code, currency, owner_ref, flags, shards, meta, created_at)
        SELECT x.id, x.code, x.currency, x.owner, x.flags, x.shards, '{}', a_created
          FROM unnest(a_id, a_code, a_currency, a_owner, a_flags, a_shards)
               WITH ORDINALITY AS x(id, code, currency, owner, flags, shards, pos)
         ORDER BY x.pos
        ON CONFLICT DO NOTHING RETURNING id, shards
    )
    INSERT INTO ledger_balances
           (account_id, shard, debits_posted, credits_posted, debits_pending, credits_pending)
    SELECT made.id, s, 0, 0, 0, 0 FROM made, generate_series(0, made.shards - 1) AS s;
    SELECT x.id INTO conflicting
      FROM unnest(a_id, a_flags, a_shards) WITH ORDINALITY AS x(id, flags, shards, pos)
      JOIN ledger_accounts a ON a.id = x.id
     WHERE a.flags IS DISTINCT FROM x.flags OR a.shards IS DISTINCT FROM x.shards
     ORDER BY x.pos LIMIT 1;
    IF conflicting IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'TRL04', MESSAGE = conflicting::text;
    END IF;
    RETURN 0;
END
$$;
"""
