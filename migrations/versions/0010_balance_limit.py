"""Ledger: the balance limit. No account with a limit flag may hold more than MAX_BALANCE
(app/ledger/model.py) minor units; PostgreSQL's fast path checks it in the same locked write
as the flags, so `ledger_write_entry` is re-created. SQLite runs the same check in Python
(app/ledger/balance_rows.py) and has nothing to change.

Downgrading restores the function as migration 0003 created it (kept verbatim below): a
database taken back to 0008 behaves as that version of the code expects.

Revision ID: 0010_balance_limit
Revises: 0009_challenge_life
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from app.ledger.pg_functions import PG_WRITE_ENTRY

revision: str = "0010_balance_limit"
down_revision: str | None = "0009_challenge_life"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_WRITE_ENTRY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_WRITE_ENTRY_BEFORE_LIMIT)


# ledger_write_entry as migration 0003 created it: flags only, no balance limit.
PG_WRITE_ENTRY_BEFORE_LIMIT = r"""-- The PostgreSQL fast path of the ledger's write (app/ledger/pg_fastpath.py): the whole
-- entry in one round trip. Python plans the entry (validation, shards, lock order, which
-- rows need a limit check); this function only executes the plan, row by row in the given
-- (global) order, inside the caller's transaction.
-- Returns 0 when the entry was written, 1 when an entry with this id (or resolving the same
-- pending entry) already exists. Raises SQLSTATE TRL01 (limit exceeded; message
-- "account_id|available|requested") or TRL02 (balance row missing; message "account_id").
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
    headroom bigint;
    requested bigint;
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
            ELSE
                headroom := total.dp - total.cp - total.cq;
                requested := change.cp + change.cq;
                IF total.dp + change.dp - total.cp - change.cp - total.cq - change.cq < 0 THEN
                    RAISE EXCEPTION USING ERRCODE = 'TRL01',
                        MESSAGE = r_account[i]::text || '|' || headroom || '|' || requested;
                END IF;
            END IF;
        END IF;
        IF r_mode[i] = 1 THEN
            UPDATE ledger_balances SET
                debits_posted = debits_posted + r_dp[i], credits_posted = credits_posted + r_cp[i],
                debits_pending = debits_pending + r_dq[i], credits_pending = credits_pending + r_cq[i]
             WHERE account_id = r_account[i] AND shard = r_shard[i]
               AND CASE WHEN r_flags[i] = 1
                   THEN credits_posted + r_cp[i] >= debits_posted + r_dp[i] + debits_pending + r_dq[i]
                   ELSE debits_posted + r_dp[i] >= credits_posted + r_cp[i] + credits_pending + r_cq[i]
                   END;
            IF NOT FOUND THEN
                SELECT CASE WHEN r_flags[i] = 1
                            THEN credits_posted - debits_posted - debits_pending
                            ELSE debits_posted - credits_posted - credits_pending END
                  INTO headroom FROM ledger_balances
                 WHERE account_id = r_account[i] AND shard = r_shard[i];
                IF headroom IS NULL THEN
                    RAISE EXCEPTION USING ERRCODE = 'TRL02', MESSAGE = r_account[i]::text;
                END IF;
                RAISE EXCEPTION USING ERRCODE = 'TRL01', MESSAGE = r_account[i]::text || '|'
                    || headroom || '|'
                    || CASE WHEN r_flags[i] = 1 THEN r_dp[i] + r_dq[i] ELSE r_cp[i] + r_cq[i] END;
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
