"""RFC 9162 (Certificate Transparency v2) Merkle tree maths, SHA-256, without any I/O.

The tree is kept by its caller as *perfect subtree nodes*: node (level, index) is the hash of
leaves [index * 2**level, (index + 1) * 2**level). Every completed perfect node is stored
once, so any Merkle Tree Hash the proofs need is a combination of O(log n) stored nodes, and
appending reads only the right edge (the "frontier"). Storage is reached through a
`get_node(level, index) -> bytes` callable; the control flow of every function here depends
on sizes and indices only, never on hash values (app/ledger/seal.py relies on that to fetch
exactly the nodes a computation reads).

The verification functions follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 literally and return
False, never raise, on a malformed proof: they face hostile input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

NodeGetter = Callable[[int, int], bytes]
HASH_BYTES = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly smaller than `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def _check_size(name: str, value: int, minimum: int = 0) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")


def subtree_hash(start: int, end: int, get_node: NodeGetter) -> bytes:
    """MTH(D[start:end]) for a range that RFC 9162's recursion produces.

    Such a range starts at a multiple of the largest power of two not above its size, so a
    perfect range is one stored node and any other splits into a perfect left part and a
    smaller right part.
    """
    _check_size("start", start)
    size = end - start
    if size < 1:
        raise ValueError(f"empty range [{start}, {end})")
    if size & (size - 1) == 0:
        if start % size:
            raise ValueError(f"range [{start}, {end}) is not aligned to its size")
        level = size.bit_length() - 1
        return get_node(level, start >> level)
    k = _split(size)
    return node_hash(
        subtree_hash(start, start + k, get_node), subtree_hash(start + k, end, get_node)
    )


def root_hash(tree_size: int, get_node: NodeGetter) -> bytes:
    """MTH of the first `tree_size` leaves (SHA-256 of nothing for the empty tree)."""
    _check_size("tree_size", tree_size)
    return EMPTY_ROOT if tree_size == 0 else subtree_hash(0, tree_size, get_node)


def nodes_to_store_on_append(
    tree_size_before: int, new_leaf_hashes: Sequence[bytes], get_node: NodeGetter
) -> list[tuple[int, int, bytes]]:
    """Every perfect node completed by appending these leaf hashes, leaves included.

    Reads at most one stored left sibling per level (the frontier), so appending k leaves
    to a tree of n costs O(k + log n) reads of existing nodes.
    """
    _check_size("tree_size_before", tree_size_before)
    fresh: dict[tuple[int, int], bytes] = {}

    def node(level: int, index: int) -> bytes:
        return fresh[(level, index)] if (level, index) in fresh else get_node(level, index)

    for offset, digest in enumerate(new_leaf_hashes):
        if len(digest) != HASH_BYTES:
            raise ValueError("leaf hashes are 32 bytes")
        level, index, current = 0, tree_size_before + offset, digest
        fresh[(0, index)] = current
        while index & 1:
            current = node_hash(node(level, index - 1), current)
            level, index = level + 1, index >> 1
            fresh[(level, index)] = current
    return [(level, index, digest) for (level, index), digest in fresh.items()]


def inclusion_proof(leaf_index: int, tree_size: int, get_node: NodeGetter) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1, leaf to root."""
    _check_size("tree_size", tree_size, 1)
    _check_size("leaf_index", leaf_index)
    if leaf_index >= tree_size:
        raise ValueError(f"leaf {leaf_index} is not in a tree of {tree_size}")

    def path(m: int, start: int, end: int) -> list[bytes]:
        size = end - start
        if size == 1:
            return []
        k = _split(size)
        if m < k:
            return [*path(m, start, start + k), subtree_hash(start + k, end, get_node)]
        return [*path(m - k, start + k, end), subtree_hash(start, start + k, get_node)]

    return path(leaf_index, 0, tree_size)


def consistency_proof(first: int, second: int, get_node: NodeGetter) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 section 2.1.4.1.

    For first == second, and for first == 0 (every tree extends the empty one), the proof is
    empty: there is nothing to prove.
    """
    _check_size("first", first)
    _check_size("second", second)
    if first > second:
        raise ValueError(f"first ({first}) must not exceed second ({second})")
    if first in (0, second):
        return []

    def subproof(m: int, start: int, end: int, whole: bool) -> list[bytes]:
        size = end - start
        if m == size:
            return [] if whole else [subtree_hash(start, end, get_node)]
        k = _split(size)
        if m <= k:
            return [*subproof(m, start, start + k, whole), subtree_hash(start + k, end, get_node)]
        return [*subproof(m - k, start + k, end, False), subtree_hash(start, start + k, get_node)]

    return subproof(first, 0, second, True)


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes | bytearray) and len(h) == HASH_BYTES for h in hashes)


def verify_inclusion(
    leaf: bytes, leaf_index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: is the leaf hash at this index of the tree with this root?"""
    if not _well_formed(leaf, root, *proof) or not 0 <= leaf_index < tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree (first, first_root) a prefix of (second, ...)?"""
    if not _well_formed(first_root, second_root, *proof) or not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


class MerkleTree:
    """An in-memory tree over the same node layout, for tests and small callers."""

    def __init__(self, leaves: Sequence[bytes] = ()) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0
        self.extend(leaves)

    def get_node(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def extend(self, leaves: Sequence[bytes]) -> None:
        hashes = [leaf_hash(leaf) for leaf in leaves]
        for level, index, digest in nodes_to_store_on_append(self.size, hashes, self.get_node):
            self.nodes[(level, index)] = digest
        self.size += len(hashes)

    def root(self, tree_size: int | None = None) -> bytes:
        return root_hash(self.size if tree_size is None else tree_size, self.get_node)

    def inclusion_proof(self, leaf_index: int, tree_size: int | None = None) -> list[bytes]:
        size = self.size if tree_size is None else tree_size
        return inclusion_proof(leaf_index, size, self.get_node)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_proof(first, self.size if second is None else second, self.get_node)
