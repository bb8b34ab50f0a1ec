"""Ledger: accounts, sharded balances, the append-only journal, pending entries, Merkle log.

Revision ID: 0003_ledger
Revises: 0002_identity
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The server-side functions live beside the code that calls them (app/ledger/pg_fastpath.py);
# CREATE OR REPLACE makes creating them again harmless.
from app.ledger.pg_functions import PG_FORBID, PG_WRITE_ENTRIES, PG_WRITE_ENTRY

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
