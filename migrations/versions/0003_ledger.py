"""Ledger: accounts, sharded balances, the append-only journal, pending entries, Merkle log.

Revision ID: 0003_ledger
Revises: 0002_identity
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_ledger"
down_revision: str | None = "0002_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY = (
    "ledger_entries",
    "ledger_postings",
    "ledger_merkle_leaves",
    "ledger_merkle_nodes",
    "ledger_tree_heads",
)

PG_FORBID = """
CREATE OR REPLACE FUNCTION ledger_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger journal is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$
"""


# The PostgreSQL fast path of a ledger write (app/ledger/pg_fastpath.py).
PG_WRITE_ENTRY = r"""
-- The PostgreSQL fast path of the ledger's write (app/ledger/pg_fastpath.py): the whole
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


# A batch of planned entries in one round trip (app/ledger/pg_fastpath.py: write_many):
# every balance row of the batch is locked first, in one ordered pass, so batches running
# at once cannot deadlock; then each entry is written by ledger_write_entry. Returns, per
# entry, 0 (written) or 1 (its id was taken).
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


def _forbid_changes() -> None:
    """Refuse UPDATE and DELETE on the journal, whatever role the app runs as."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_WRITE_ENTRY)
        op.execute(PG_WRITE_ENTRIES)
        op.execute(PG_FORBID)
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'the ledger journal is append-only'); END"
            )


def _allow_changes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_forbid_change()")
        op.execute("DROP FUNCTION IF EXISTS ledger_write_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_write_entry")
        return
    for table in APPEND_ONLY:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("owner_ref", sa.String(length=200), nullable=False),
        sa.Column("flags", sa.SmallInteger(), nullable=False),
        sa.Column("shards", sa.SmallInteger(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("flags BETWEEN 0 AND 2", name=op.f("ck_ledger_accounts_flags_known")),
        sa.CheckConstraint("shards BETWEEN 1 AND 64", name=op.f("ck_ledger_accounts_shards_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
    )
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_ledger_accounts_natural_key", ["code", "owner_ref", "currency"], unique=True
        )

    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("phase", sa.String(length=8), nullable=False),
        sa.Column("resolves_id", sa.Uuid(), nullable=True),
        sa.Column("timeout_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(phase IN ('post', 'void')) = (resolves_id IS NOT NULL)",
            name=op.f("ck_ledger_entries_resolution_link"),
        ),
        sa.CheckConstraint(
            "phase IN ('posted', 'pending', 'post', 'void')",
            name=op.f("ck_ledger_entries_phase_known"),
        ),
        sa.ForeignKeyConstraint(
            ["resolves_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_entries_resolves_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("resolves_id", name=op.f("uq_ledger_entries_resolves_id")),
    )
    op.create_table(
        "ledger_merkle_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index", name=op.f("pk_ledger_merkle_nodes")),
    )
    op.create_table(
        "ledger_tree_heads",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.String(length=40), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_ledger_tree_heads")),
    )
    op.create_table(
        "ledger_balances",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("debits_posted", sa.BigInteger(), nullable=False),
        sa.Column("credits_posted", sa.BigInteger(), nullable=False),
        sa.Column("debits_pending", sa.BigInteger(), nullable=False),
        sa.Column("credits_pending", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
            name=op.f("ck_ledger_balances_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_balances_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "shard", name=op.f("pk_ledger_balances")),
    )
    op.create_table(
        "ledger_merkle_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("leaf", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_merkle_leaves_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_ledger_merkle_leaves")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_ledger_merkle_leaves_entry_id")),
    )
    op.create_table(
        "ledger_open_pending",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("timeout_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_open_pending_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_ledger_open_pending")),
    )
    with op.batch_alter_table("ledger_open_pending", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_open_pending_timeout_at", ["timeout_at"], unique=False)

    op.create_table(
        "ledger_postings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "(debit > 0 AND credit = 0) OR (credit > 0 AND debit = 0)",
            name=op.f("ck_ledger_postings_one_side"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_postings_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_postings_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
    )
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_postings_account_id_id", ["account_id", "id"], unique=False
        )
        batch_op.create_index("ix_ledger_postings_entry_id", ["entry_id"], unique=False)

    op.create_table(
        "ledger_unsealed",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_unsealed_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_ledger_unsealed")),
    )

    _forbid_changes()


def downgrade() -> None:
    _allow_changes()
    op.drop_table("ledger_unsealed")
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_postings_entry_id")
        batch_op.drop_index("ix_ledger_postings_account_id_id")

    op.drop_table("ledger_postings")
    with op.batch_alter_table("ledger_open_pending", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_open_pending_timeout_at")

    op.drop_table("ledger_open_pending")
    op.drop_table("ledger_merkle_leaves")
    op.drop_table("ledger_balances")
    op.drop_table("ledger_tree_heads")
    op.drop_table("ledger_merkle_nodes")
    op.drop_table("ledger_entries")
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_index("uq_ledger_accounts_natural_key")

    op.drop_table("ledger_accounts")
