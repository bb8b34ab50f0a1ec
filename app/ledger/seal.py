"""Sealing: the journal as an append-only Merkle log with signed tree heads (RFC 9162).

After entries commit, `seal_pending` (due work, never the write path) appends the unsealed
ones as leaves of one Merkle tree, stores every completed perfect subtree node, and signs a
tree head. `inclusion_proof` and `consistency_proof` read stored nodes only (O(log² n) of
them), so proofs stay cheap however long the log grows. Only one process seals at a time
(a transaction-scoped advisory lock on PostgreSQL; SQLite's single writer elsewhere).

A leaf is the canonical JSON (sorted keys, no spaces) of an entry's public form. Accounts
appear as tags keyed by a server-side secret (tags.py) rather than ids, and metadata as a
hash, so publishing proofs never reveals who holds which account or what a memo says, while
any change to an entry still changes its leaf.

Leaves are written once and never recomputed: proofs serve the stored text. Leaves sealed
before `leaf_version` existed (version 1) tagged accounts under a key derived from the
public key and stay in the log, verifiable, as they were sealed; every new leaf is
version 2.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger import merkle, tables
from app.ledger.entries import load_entry
from app.ledger.errors import LedgerError, LedgerInvariantError
from app.ledger.model import Entry
from app.ledger.signing import TreeSigner, tree_head_message
from app.ledger.tags import account_tag, scope_of
from app.sql.dialect import is_postgres

T = TypeVar("T")
SEAL_LOCK_KEY = 7_302_145_117  # arbitrary, fixed: the advisory lock of the sealer
MAX_SEAL_BATCH = 1000
MAX_TREE_HEADS_PAGE = 1000
LEAF_VERSION = 2
NodeGetter = Callable[[int, int], bytes]


class NotSealed(LedgerError):
    """The entry is not (yet) a leaf of the log, or the tree size asked for is not there."""


@dataclass(frozen=True)
class TreeHead:
    tree_size: int
    root_hash: str
    timestamp: str
    signature: str


@dataclass(frozen=True)
class InclusionProof:
    entry_id: uuid.UUID
    leaf_index: int
    tree_size: int
    leaf: str
    leaf_hash: str
    audit_path: list[str]


def canonical_leaf(entry: Entry, signer: TreeSigner) -> str:
    """The entry's public form as canonical JSON: the exact bytes that are hashed."""
    key, scope = signer.account_tag_key, scope_of(entry.meta)
    meta = json.dumps(entry.meta, sort_keys=True, separators=(",", ":"), default=str)
    public: dict[str, Any] = {
        "leaf_version": LEAF_VERSION,
        "entry_id": str(entry.id),
        "kind": entry.kind,
        "phase": entry.phase.value,
        "resolves_id": str(entry.resolves_id) if entry.resolves_id else None,
        "created_at": entry.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "meta_sha256": hashlib.sha256(meta.encode("utf-8")).hexdigest(),
        "postings": [
            {
                "account_tag": account_tag(key, p.account_id, scope),
                "currency": p.currency,
                "debit": p.debit,
                "credit": p.credit,
            }
            for p in entry.postings
        ],
    }
    return json.dumps(public, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def _fetch_nodes(
    session: AsyncSession, wanted: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    wanted = sorted(set(wanted))
    found: dict[tuple[int, int], bytes] = {}
    n = tables.merkle_nodes.c
    for level in {level for level, _ in wanted}:
        indices = [index for lvl, index in wanted if lvl == level]
        for start in range(0, len(indices), 500):
            rows = await session.execute(
                select(n.node_index, n.hash).where(
                    n.level == level, n.node_index.in_(indices[start : start + 500])
                )
            )
            found.update({(level, index): bytes.fromhex(digest) for index, digest in rows})
    return found


async def _with_nodes(
    session: AsyncSession,
    compute: Callable[[NodeGetter], T],
    extra: dict[tuple[int, int], bytes] | None = None,
) -> T:
    """Run a Merkle computation over stored nodes, fetching exactly the ones it reads.

    The algorithms' control flow depends on sizes and indices only, never on hash values, so
    a first pass with placeholder hashes records which nodes are read; one query fetches
    them; the second pass computes with the real hashes.
    """
    known = dict(extra or {})
    wanted: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        if (level, index) not in known:
            wanted.add((level, index))
        return known.get((level, index), b"\x00" * 32)

    compute(record)
    known.update(await _fetch_nodes(session, wanted))

    def read(level: int, index: int) -> bytes:
        try:
            return known[(level, index)]
        except KeyError:
            raise LedgerInvariantError(f"Merkle node ({level}, {index}) is missing") from None

    return compute(read)


async def tree_size(session: AsyncSession) -> int:
    size = await session.scalar(select(func.max(tables.tree_heads.c.tree_size)))
    return int(size or 0)


async def latest_tree_head(session: AsyncSession) -> TreeHead | None:
    row = (
        (
            await session.execute(
                select(tables.tree_heads).order_by(tables.tree_heads.c.tree_size.desc()).limit(1)
            )
        )
        .mappings()
        .one_or_none()
    )
    return TreeHead(**row) if row is not None else None


async def _acquire_sealer_lock(session: AsyncSession) -> bool:
    if not is_postgres(session):
        return True  # SQLite writers are serialised by BEGIN IMMEDIATE
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEAL_LOCK_KEY}
    )
    return bool(locked)


async def _unsealed_entries(session: AsyncSession, limit: int) -> list[Entry]:
    u, e = tables.unsealed.c, tables.entries.c
    ids = (
        await session.scalars(
            select(u.entry_id)
            .join(tables.entries, e.id == u.entry_id)
            .order_by(e.created_at, e.id)
            .limit(limit)
        )
    ).all()
    entries = [await load_entry(session, entry_id) for entry_id in ids]
    return [entry for entry in entries if entry is not None]


async def seal_pending(
    session: AsyncSession, signer: TreeSigner, *, now: datetime, limit: int = MAX_SEAL_BATCH
) -> int:
    """Append unsealed entries to the log and sign the new tree head; returns how many."""
    if not await _acquire_sealer_lock(session):
        return 0
    entries = await _unsealed_entries(session, max(1, min(limit, MAX_SEAL_BATCH)))
    if not entries:
        return 0
    size = await tree_size(session)
    leaves = [canonical_leaf(entry, signer) for entry in entries]
    hashes = [merkle.leaf_hash(leaf.encode("utf-8")) for leaf in leaves]
    new_nodes = await _with_nodes(
        session, lambda get: merkle.nodes_to_store_on_append(size, hashes, get)
    )
    fresh = {(level, index): digest for level, index, digest in new_nodes}
    root = await _with_nodes(session, lambda get: merkle.root_hash(size + len(leaves), get), fresh)
    await session.execute(
        insert(tables.merkle_leaves),
        [
            {"leaf_index": size + offset, "entry_id": entry.id, "leaf": leaf}
            for offset, (entry, leaf) in enumerate(zip(entries, leaves, strict=True))
        ],
    )
    await session.execute(
        insert(tables.merkle_nodes),
        [
            {"level": lvl, "node_index": idx, "hash": digest.hex()}
            for (lvl, idx), digest in fresh.items()
        ],
    )
    await session.execute(
        delete(tables.unsealed).where(tables.unsealed.c.entry_id.in_([e.id for e in entries]))
    )
    new_size = size + len(leaves)
    timestamp = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    await session.execute(
        insert(tables.tree_heads).values(
            tree_size=new_size,
            root_hash=root.hex(),
            timestamp=timestamp,
            signature=signer.sign(tree_head_message(new_size, root.hex(), timestamp)),
        )
    )
    return len(leaves)


async def _head_size(session: AsyncSession, requested: int | None) -> int:
    latest = await tree_size(session)
    size = latest if requested is None else requested
    if not 0 < size <= latest:
        raise NotSealed(f"the log has {latest} leaves; tree size {size} is not available")
    return size


async def inclusion_proof(
    session: AsyncSession, entry_id: uuid.UUID, *, tree_size_at: int | None = None
) -> InclusionProof:
    """The audit path proving the entry's leaf is in the tree of the given (or latest) size."""
    row = (
        (
            await session.execute(
                select(tables.merkle_leaves).where(tables.merkle_leaves.c.entry_id == entry_id)
            )
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotSealed(f"entry {entry_id} is not sealed yet")
    size = await _head_size(session, tree_size_at)
    index = int(row["leaf_index"])
    if index >= size:
        raise NotSealed(f"entry {entry_id} was sealed after tree size {size}")
    path = await _with_nodes(session, lambda get: merkle.inclusion_proof(index, size, get))
    leaf = str(row["leaf"])
    return InclusionProof(
        entry_id=entry_id,
        leaf_index=index,
        tree_size=size,
        leaf=leaf,
        leaf_hash=merkle.leaf_hash(leaf.encode("utf-8")).hex(),
        audit_path=[node.hex() for node in path],
    )


async def consistency_proof(session: AsyncSession, first: int, second: int) -> list[str]:
    """The proof that the tree of size `first` is a prefix of the tree of size `second`."""
    latest = await tree_size(session)
    if not 0 < first <= second <= latest:
        raise NotSealed(f"need 0 < first <= second <= {latest}, got {first} and {second}")
    proof = await _with_nodes(session, lambda get: merkle.consistency_proof(first, second, get))
    return [node.hex() for node in proof]


async def tree_head_at(session: AsyncSession, size: int) -> TreeHead | None:
    row = (
        (
            await session.execute(
                select(tables.tree_heads).where(tables.tree_heads.c.tree_size == size)
            )
        )
        .mappings()
        .one_or_none()
    )
    return TreeHead(**row) if row is not None else None


async def tree_heads(
    session: AsyncSession, *, below_size: int | None = None, limit: int
) -> list[TreeHead]:
    """Signed tree heads, largest tree size (newest) first; only those of fewer than
    `below_size` leaves when given (the next page after a head of that size). At most
    MAX_TREE_HEADS_PAGE; the primary key on tree_size serves the order and the bound."""
    h = tables.tree_heads.c
    query = select(tables.tree_heads).order_by(h.tree_size.desc())
    if below_size is not None:
        query = query.where(h.tree_size < below_size)
    rows = await session.execute(query.limit(max(1, min(limit, MAX_TREE_HEADS_PAGE))))
    return [TreeHead(**row) for row in rows.mappings()]
