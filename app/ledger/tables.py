"""The ledger's tables. Nothing outside app/ledger reads or writes them directly.

The journal (`ledger_entries`, `ledger_postings`) is append-only: database triggers refuse
UPDATE and DELETE, and a deployment also withholds those privileges from the app's role
(docs/ledger.md). Balances are rows per (account, shard): an account that many writers
credit at once spreads them over several shard rows so they do not queue on one lock.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
)

from app.sql.naming import NAMING_CONVENTION
from app.sql.types import UtcDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")

accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("owner_ref", String(200), nullable=False),
    Column("flags", SmallInteger, nullable=False),
    Column("shards", SmallInteger, nullable=False),
    Column("meta", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("shards BETWEEN 1 AND 64", name="shards_range"),
    CheckConstraint("flags BETWEEN 0 AND 2", name="flags_known"),
    Index("uq_ledger_accounts_natural_key", "code", "owner_ref", "currency", unique=True),
)

balances = Table(
    "ledger_balances",
    metadata,
    Column("account_id", Uuid, ForeignKey("ledger_accounts.id"), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("debits_pending", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    CheckConstraint(
        "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 "
        "AND credits_pending >= 0",
        name="non_negative",
    ),
)

entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("phase", String(8), nullable=False),
    Column("resolves_id", Uuid, ForeignKey("ledger_entries.id"), unique=True),
    Column("timeout_at", UtcDateTime),
    Column("meta", JSON, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("phase IN ('posted', 'pending', 'post', 'void')", name="phase_known"),
    CheckConstraint(
        "(phase IN ('post', 'void')) = (resolves_id IS NOT NULL)", name="resolution_link"
    ),
)

postings = Table(
    "ledger_postings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entry_id", Uuid, ForeignKey("ledger_entries.id"), nullable=False),
    Column("account_id", Uuid, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("shard", SmallInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("debit", BigInteger, nullable=False),
    Column("credit", BigInteger, nullable=False),
    CheckConstraint("(debit > 0 AND credit = 0) OR (credit > 0 AND debit = 0)", name="one_side"),
    Index("ix_ledger_postings_entry_id", "entry_id"),
    Index("ix_ledger_postings_account_id_id", "account_id", "id"),
)

# Pending entries not yet posted or voided; the row is deleted when one of those happens.
# Mutable on purpose: it is an index of open work, not part of the journal.
open_pending = Table(
    "ledger_open_pending",
    metadata,
    Column("entry_id", Uuid, ForeignKey("ledger_entries.id"), primary_key=True),
    Column("timeout_at", UtcDateTime),
    Index("ix_ledger_open_pending_timeout_at", "timeout_at"),
)

# Committed entries the sealer has not appended to the Merkle log yet.
unsealed = Table(
    "ledger_unsealed",
    metadata,
    Column("entry_id", Uuid, ForeignKey("ledger_entries.id"), primary_key=True),
)

merkle_leaves = Table(
    "ledger_merkle_leaves",
    metadata,
    Column("leaf_index", BigInteger, primary_key=True, autoincrement=False),
    Column("entry_id", Uuid, ForeignKey("ledger_entries.id"), nullable=False, unique=True),
    Column("leaf", Text, nullable=False),
)

merkle_nodes = Table(
    "ledger_merkle_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("node_index", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
)

tree_heads = Table(
    "ledger_tree_heads",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", String(64), nullable=False),
    Column("timestamp", String(40), nullable=False),
    Column("signature", String(128), nullable=False),
)

# Tables whose rows, once written, never change.
APPEND_ONLY_TABLES = (
    "ledger_entries",
    "ledger_postings",
    "ledger_merkle_leaves",
    "ledger_merkle_nodes",
    "ledger_tree_heads",
)
