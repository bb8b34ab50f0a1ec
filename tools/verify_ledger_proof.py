#!/usr/bin/env python3
"""Check Tributary's public ledger log yourself, with nothing but Python's standard library.

It verifies, offline and without trusting Tributary's code:
  tree-head    a signed tree head against the log's Ed25519 public key;
  inclusion    that an entry (its canonical JSON leaf) is in the tree of a signed head;
  consistency  that a later tree head extends an earlier one (nothing was rewritten).

    python3 verify_ledger_proof.py tree-head --head head.json --key key.json
    python3 verify_ledger_proof.py inclusion --proof proof.json --head head.json [--key key.json]
    python3 verify_ledger_proof.py consistency --proof c.json --first h1.json --second h2.json \
        [--key key.json]

Inputs are the JSON bodies of GET /v1/public/ledger/tree-head, .../key,
.../entries/{id}/proof and .../consistency. Exit status 0 means verified, 1 means not.
The Merkle hashing is RFC 9162's (SHA-256, 0x00 leaf and 0x01 node prefixes); the Ed25519
verification below is the RFC 8032 section 6 reference algorithm.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from collections.abc import Sequence
from typing import Any

# --- Ed25519 verification (RFC 8032, section 6) -------------------------------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
Point = tuple[int, int, int, int]


def _recover_x(y: int, sign: int) -> int | None:
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 % _P == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P != 0:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0) or 0
_G: Point = (_GX, _GY, 1, _GX * _GY % _P)


def _add(p: Point, q: Point) -> Point:
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(scalar: int, point: Point) -> Point:
    result: Point = (0, 1, 1, 0)
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _equal(p: Point, q: Point) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % _P == 0 and (p[1] * q[2] - q[1] * p[2]) % _P == 0


def _decompress(data: bytes) -> Point | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 Ed25519 signature verification."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decompress(public_key)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    digest = hashlib.sha512(signature[:32] + public_key + message).digest()
    h = int.from_bytes(digest, "little") % _L
    return _equal(_mul(s, _G), _add(r, _mul(h, a)))


# --- RFC 9162 Merkle proofs ---------------------------------------------------------------


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _ok(*hashes: bytes) -> bool:
    return all(len(h) == 32 for h in hashes)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if not _ok(leaf, root, *proof) or not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2."""
    if not _ok(first_root, second_root, *proof) or not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = ([first_root] if first & (first - 1) == 0 else []) + list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


# --- the checks on Tributary's JSON documents ---------------------------------------------


class Invalid(Exception):
    """A check failed; the message says which."""


def _hex(value: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(str(value))
    except ValueError:
        raise Invalid(f"{what} is not hex") from None
    if len(raw) != 32:
        raise Invalid(f"{what} is not a 32-byte hash")
    return raw


def check_tree_head(head: dict[str, Any], key: dict[str, Any]) -> None:
    if key.get("algorithm") != "ed25519":
        raise Invalid("the key is not an Ed25519 key")
    try:
        public_key = base64.b64decode(key["public_key"], validate=True)
        signature = base64.b64decode(head["signature"], validate=True)
    except (KeyError, ValueError):
        raise Invalid("key or signature is not base64") from None
    message = f"{head['tree_size']}.{head['root_hash']}.{head['timestamp']}".encode()
    if not ed25519_verify(public_key, message, signature):
        raise Invalid("the tree head's signature does not verify with this key")


def check_inclusion(proof: dict[str, Any], head: dict[str, Any]) -> None:
    leaf = str(proof["leaf"]).encode("utf-8")
    if leaf_hash(leaf).hex() != str(proof["leaf_hash"]).lower():
        raise Invalid("leaf_hash is not SHA-256(0x00 || leaf)")
    if int(proof["tree_size"]) != int(head["tree_size"]):
        raise Invalid("the proof is for another tree size than the head")
    path = [_hex(node, "an audit path node") for node in proof["audit_path"]]
    if not verify_inclusion(
        leaf_hash(leaf),
        int(proof["leaf_index"]),
        int(proof["tree_size"]),
        path,
        _hex(head["root_hash"], "root_hash"),
    ):
        raise Invalid("the audit path does not lead to the head's root hash")


def check_consistency(proof: dict[str, Any], first: dict[str, Any], second: dict[str, Any]) -> None:
    if (int(proof["first"]), int(proof["second"])) != (
        int(first["tree_size"]),
        int(second["tree_size"]),
    ):
        raise Invalid("the proof's sizes are not those of the two heads")
    if not verify_consistency(
        int(first["tree_size"]),
        int(second["tree_size"]),
        _hex(first["root_hash"], "first root_hash"),
        _hex(second["root_hash"], "second root_hash"),
        [_hex(node, "a proof node") for node in proof["proof"]],
    ):
        raise Invalid("the second tree does not extend the first")


def _load(path: str) -> dict[str, Any]:
    with sys.stdin if path == "-" else open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    if not isinstance(document, dict):
        raise Invalid(f"{path} does not hold a JSON object")
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    head_cmd = commands.add_parser("tree-head", help="verify a signed tree head")
    head_cmd.add_argument("--head", required=True)
    head_cmd.add_argument("--key", required=True)
    inclusion = commands.add_parser("inclusion", help="verify an inclusion proof")
    inclusion.add_argument("--proof", required=True)
    inclusion.add_argument("--head", required=True)
    inclusion.add_argument("--key")
    consistency = commands.add_parser("consistency", help="verify a consistency proof")
    consistency.add_argument("--proof", required=True)
    consistency.add_argument("--first", required=True)
    consistency.add_argument("--second", required=True)
    consistency.add_argument("--key")
    args = parser.parse_args(argv)
    try:
        key = _load(args.key) if getattr(args, "key", None) else None
        if args.command == "tree-head":
            head = _load(args.head)
            check_tree_head(head, key or {})
            print(f"OK tree head of size {head['tree_size']} is signed by this key")
        elif args.command == "inclusion":
            proof, head = _load(args.proof), _load(args.head)
            if key is not None:
                check_tree_head(head, key)
            check_inclusion(proof, head)
            print(f"OK entry {proof.get('entry_id')} is leaf {proof['leaf_index']} of the tree")
        else:
            proof, first, second = _load(args.proof), _load(args.first), _load(args.second)
            if key is not None:
                check_tree_head(first, key)
                check_tree_head(second, key)
            check_consistency(proof, first, second)
            print(f"OK tree {second['tree_size']} extends tree {first['tree_size']}")
    except (Invalid, KeyError, TypeError, ValueError, OSError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
