#!/usr/bin/env python3
"""Check Tributary's public ledger log yourself, with nothing but Python's standard library.

It verifies, offline and without trusting Tributary's code:
  tree-head    a signed tree head against the log's Ed25519 public key;
  inclusion    that an entry (its canonical JSON leaf) is in the tree of a signed head;
  consistency  that a later tree head extends an earlier one (nothing was rewritten);
  certificate  an impact certificate (GET /v1/orgs/{org}/certificates/{milestone}): every
               payout entry in it is a leaf of its signed tree head, its meta is the one the
               leaf commits to, and the amount paid and the units follow from them.

    python3 verify_ledger_proof.py tree-head --head head.json --key key.json
    python3 verify_ledger_proof.py inclusion --proof proof.json --head head.json --key key.json
    python3 verify_ledger_proof.py consistency --proof c.json --first h1.json --second h2.json \
        --key key.json
    python3 verify_ledger_proof.py certificate --certificate cert.json --key key.json

Inputs are the JSON bodies of GET /v1/public/ledger/tree-head (or one item of .../tree-heads),
.../key, .../entries/{id}/proof and .../consistency, exactly as served; "-" reads standard
input. Every tree head's signature is checked against --key: a Merkle proof under a head
nobody signed proves nothing. `--no-signature` instead of `--key` checks the Merkle maths
alone, and the output says the signatures were NOT checked.

Exit status: 0 verified; 1 well-formed documents that do not verify (a changed leaf, path,
root or signature: the log, or whoever served the files, is not telling the truth); 2 the
tool could not check (a file that cannot be read or is not the document expected, such as
a 404 problem document saved by curl; a proof for another tree size than the head; no --key
and no --no-signature), said in one line that names the file or argument.

The Merkle hashing is RFC 9162's (SHA-256, 0x00 leaf and 0x01 node prefixes); the Ed25519
verification below is the RFC 8032 section 6 reference algorithm.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple, NoReturn

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


# --- reading Tributary's JSON documents ---------------------------------------------------


class Invalid(Exception):
    """Well-formed documents that do not verify (exit status 1); the message says which."""


class BadInput(Exception):
    """The tool could not check: a file or argument is not what it must be (exit status 2)."""


MAX_SIZE = 2**63 - 1  # no log grows past a bigint of leaves
_HASH = re.compile(r"[0-9a-fA-F]{64}")
_LOOKS_LIKE = (  # (fields that give a document away, what it is) for "it looks like ..."
    (("status", "title"), "a problem document"),
    (("items",), "a list of tree heads, from /tree-heads"),
    (("algorithm", "public_key"), "the signing key, from /key"),
    (("leaf", "audit_path"), "an inclusion proof, from /entries/{id}/proof"),
    (("first", "second", "proof"), "a consistency proof, from /consistency"),
    (("tree_size", "root_hash", "signature"), "a tree head, from /tree-head"),
)


def _show(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=True)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _refuse_problem(document: Mapping[str, Any], name: str) -> None:
    """An RFC 9457 problem document (what curl saves from a 404) says what went wrong."""
    status = document.get("status")
    if isinstance(status, int) and ("title" in document or "type" in document):
        code = document.get("code")
        label = f"{status} {code}" if isinstance(code, str) else str(status)
        detail = document.get("detail") or document.get("title") or "no detail given"
        raise BadInput(f"{name} is a problem document ({label}): {_one_line(detail)}")


class Fields:
    """The fields of one JSON document, each checked for type and encoding; every refusal
    names the field and the document (`h1.json (--first)`)."""

    def __init__(self, document: Mapping[str, Any], name: str, kind: str) -> None:
        if not isinstance(document, Mapping):
            raise BadInput(f"{name} is not a JSON object, so it is not {kind}")
        _refuse_problem(document, name)
        if "items" in document and kind == "a tree head":
            raise BadInput(
                f"{name} is a list of tree heads (/tree-heads), not one tree head: save one "
                "of its items, or GET /v1/public/ledger/tree-head?tree_size=N"
            )
        self.document, self.name, self.kind = document, name, kind

    def _get(self, field: str) -> Any:
        if field not in self.document:
            looks = next(
                (what for keys, what in _LOOKS_LIKE if all(k in self.document for k in keys)),
                None,
            )
            hint = f" (it looks like {looks})" if looks and not looks.startswith(self.kind) else ""
            raise BadInput(f"{self.name} is not {self.kind}: it has no `{field}`{hint}")
        return self.document[field]

    def whole(self, field: str, *, minimum: int = 0) -> int:
        value = self._get(field)
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadInput(f"{field} of {self.name} must be a whole number, not {_show(value)}")
        if not minimum <= value <= MAX_SIZE:
            raise BadInput(f"{field} of {self.name} must be from {minimum} to 2^63-1, not {value}")
        return value

    def text(self, field: str) -> str:
        value = self._get(field)
        if not isinstance(value, str):
            raise BadInput(f"{field} of {self.name} must be a string, not {_show(value)}")
        return value

    def hash(self, field: str) -> bytes:
        return self._hash(self._get(field), field)

    def _hash(self, value: Any, field: str) -> bytes:
        if not isinstance(value, str) or not _HASH.fullmatch(value):
            raise BadInput(
                f"{field} of {self.name} must be 64 hex digits (a SHA-256 hash), not {_show(value)}"
            )
        return bytes.fromhex(value)

    def hashes(self, field: str) -> list[bytes]:
        value = self._get(field)
        if not isinstance(value, list):
            raise BadInput(f"{field} of {self.name} must be a list of hashes, not {_show(value)}")
        return [self._hash(item, f"{field}[{i}]") for i, item in enumerate(value)]

    def base64(self, field: str, *, length: int) -> bytes:
        text = self.text(field)
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise BadInput(f"{field} of {self.name} is not base64: {_show(text)}") from None
        if len(raw) != length:
            raise BadInput(
                f"{field} of {self.name} must be {length} bytes once base64-decoded, not {len(raw)}"
            )
        return raw


class Head(NamedTuple):
    name: str
    tree_size: int
    root_hash: str  # as signed: the hex text itself
    root: bytes
    timestamp: str
    signature: bytes

    @property
    def message(self) -> bytes:
        return f"{self.tree_size}.{self.root_hash}.{self.timestamp}".encode()


class Inclusion(NamedTuple):
    name: str
    entry_id: str
    leaf: str
    leaf_hash: bytes
    leaf_index: int
    tree_size: int
    audit_path: list[bytes]


class Consistency(NamedTuple):
    name: str
    first: int
    second: int
    proof: list[bytes]


def read_key(document: Mapping[str, Any], name: str = "the key") -> bytes:
    fields = Fields(document, name, "the signing key")
    algorithm = fields.text("algorithm")
    if algorithm != "ed25519":
        raise BadInput(
            f'{name} is not an Ed25519 key: its algorithm is {_show(algorithm)}, not "ed25519"'
        )
    return fields.base64("public_key", length=32)


def read_head(document: Mapping[str, Any], name: str = "the tree head") -> Head:
    fields = Fields(document, name, "a tree head")
    return Head(
        name=name,
        tree_size=fields.whole("tree_size"),
        root_hash=fields.text("root_hash"),
        root=fields.hash("root_hash"),
        timestamp=fields.text("timestamp"),
        signature=fields.base64("signature", length=64),
    )


def read_inclusion(document: Mapping[str, Any], name: str = "the proof") -> Inclusion:
    fields = Fields(document, name, "an inclusion proof")
    proof = Inclusion(
        name=name,
        entry_id=str(document.get("entry_id", "?")),
        leaf=fields.text("leaf"),
        leaf_hash=fields.hash("leaf_hash"),
        leaf_index=fields.whole("leaf_index"),
        tree_size=fields.whole("tree_size", minimum=1),
        audit_path=fields.hashes("audit_path"),
    )
    if proof.leaf_index >= proof.tree_size:
        raise BadInput(
            f"leaf_index of {name} ({proof.leaf_index}) must be below its tree_size "
            f"({proof.tree_size})"
        )
    return proof


def read_consistency(document: Mapping[str, Any], name: str = "the proof") -> Consistency:
    fields = Fields(document, name, "a consistency proof")
    proof = Consistency(
        name=name,
        first=fields.whole("first", minimum=1),
        second=fields.whole("second", minimum=1),
        proof=fields.hashes("proof"),
    )
    if proof.first > proof.second:
        raise BadInput(f"first of {name} ({proof.first}) exceeds its second ({proof.second})")
    return proof


# --- the checks ---------------------------------------------------------------------------


def verify_head(head: Head, public_key: bytes, key_name: str = "the key") -> None:
    if not ed25519_verify(public_key, head.message, head.signature):
        raise Invalid(f"the signature of {head.name} does not verify with the key in {key_name}")


def verify_inclusion_of(proof: Inclusion, head: Head) -> None:
    if proof.tree_size != head.tree_size:
        raise BadInput(
            f"{proof.name} proves inclusion in the tree of size {proof.tree_size}, but "
            f"{head.name} is the head of size {head.tree_size}: ask for the proof with "
            f"?tree_size={head.tree_size}"
        )
    if leaf_hash(proof.leaf.encode("utf-8")) != proof.leaf_hash:
        raise Invalid(f"leaf_hash of {proof.name} is not SHA-256(0x00 || leaf): the leaf changed")
    if not verify_inclusion(
        proof.leaf_hash, proof.leaf_index, proof.tree_size, proof.audit_path, head.root
    ):
        raise Invalid(
            f"the audit path of {proof.name} does not lead to the root hash of {head.name}"
        )


def verify_consistency_of(proof: Consistency, first: Head, second: Head) -> None:
    if (proof.first, proof.second) != (first.tree_size, second.tree_size):
        raise BadInput(
            f"{proof.name} proves tree {proof.second} extends tree {proof.first}, but the "
            f"heads are of sizes {first.tree_size} ({first.name}) and {second.tree_size} "
            f"({second.name})"
        )
    if not verify_consistency(
        first.tree_size, second.tree_size, first.root, second.root, proof.proof
    ):
        raise Invalid(
            f"the tree of {second.name}, size {second.tree_size}, does not extend the tree of "
            f"{first.name}, size {first.tree_size}: the proof in {proof.name} does not hold"
        )


def check_tree_head(head: Mapping[str, Any], key: Mapping[str, Any]) -> None:
    """Raise Invalid unless the head is signed by the key (BadInput if either is malformed)."""
    verify_head(read_head(head), read_key(key))


def check_inclusion(proof: Mapping[str, Any], head: Mapping[str, Any]) -> None:
    """The Merkle check alone: the proof's leaf is in the tree of the head's root."""
    verify_inclusion_of(read_inclusion(proof), read_head(head))


def check_consistency(
    proof: Mapping[str, Any], first: Mapping[str, Any], second: Mapping[str, Any]
) -> None:
    """The Merkle check alone: the second head's tree extends the first's."""
    verify_consistency_of(
        read_consistency(proof),
        read_head(first, "the first tree head"),
        read_head(second, "the second tree head"),
    )


# --- impact certificates ------------------------------------------------------------------

UNIT_PLACES = 2  # as the certificate's `rounding` says: once, half to even


def units_text(units: Fraction) -> str:
    """The units rounded once to two places, half to even, as plain decimal text."""
    scaled = round(units * 10**UNIT_PLACES)
    return format(Decimal(scaled).scaleb(-UNIT_PLACES).normalize(), "f")


def _canonical_meta(meta: Mapping[str, Any]) -> str:
    """The meta exactly as the ledger hashes it into a leaf's meta_sha256."""
    return json.dumps(meta, sort_keys=True, separators=(",", ":"))


class Certificate(NamedTuple):
    name: str
    fields: Fields
    head: Head
    entries: list[Fields]


def read_certificate(document: Mapping[str, Any], name: str) -> Certificate:
    fields = Fields(document, name, "an impact certificate")
    head_document = fields._get("tree_head")
    head = read_head(head_document, f"the tree_head of {name}")
    raw_entries = fields._get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise BadInput(f"entries of {name} must be a non-empty list, not {_show(raw_entries)}")
    entries = [
        Fields(e, f"entries[{i}] of {name}", "a certified entry") for i, e in enumerate(raw_entries)
    ]
    return Certificate(name, fields, head, entries)


def _decimal_text(fields: Fields, field: str) -> Fraction:
    text = fields.text(field)
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise BadInput(f"{field} of {fields.name} is not a number: {_show(text)}") from None


def _entry_debits(entry: Fields, head: Head, claims: Mapping[str, Any]) -> int:
    """Check one certified entry against the signed tree; the funder's debits in it."""
    leaf, index = entry.text("leaf"), entry.whole("leaf_index")
    if index >= head.tree_size:
        raise BadInput(f"leaf_index of {entry.name} ({index}) is not below the tree size")
    hashed = leaf_hash(leaf.encode("utf-8"))
    if not verify_inclusion(hashed, index, head.tree_size, entry.hashes("audit_path"), head.root):
        raise Invalid(
            f"the leaf and audit path of {entry.name} do not lead to the root hash of "
            f"{head.name}: the leaf or its path changed"
        )
    try:
        public = json.loads(leaf)
    except (json.JSONDecodeError, RecursionError):
        raise Invalid(f"the leaf of {entry.name} is not JSON: it is no Tributary entry") from None
    if not isinstance(public, dict):
        raise Invalid(f"the leaf of {entry.name} is not a JSON object: it is no Tributary entry")
    if public.get("entry_id") != entry.text("entry_id"):
        raise Invalid(f"{entry.name} names entry {entry.text('entry_id')}, its leaf another")
    if public.get("kind") != "payout":
        raise Invalid(f"the leaf of {entry.name} is a {public.get('kind')!r} entry, not a payout")
    meta = entry._get("meta")
    if not isinstance(meta, dict):
        raise BadInput(f"meta of {entry.name} must be a JSON object")
    digest = hashlib.sha256(_canonical_meta(meta).encode("utf-8")).hexdigest()
    if digest != public.get("meta_sha256"):
        raise Invalid(f"the meta of {entry.name} is not the one its leaf commits to")
    for field, claimed in claims.items():
        if str(meta.get(field)) != str(claimed):
            raise Invalid(
                f"{field} of the certificate is {_show(claimed)}, but the signed meta of "
                f"{entry.name} says {_show(meta.get(field))}"
            )
    postings = public.get("postings") or []
    picked = entry._get("funder_postings")
    if not isinstance(picked, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(postings) for i in picked
    ):
        raise BadInput(f"funder_postings of {entry.name} must be indices of its leaf's postings")
    debits = 0
    for i in picked:
        posting = postings[i]
        if posting.get("currency") != claims["currency"] or not posting.get("debit"):
            raise Invalid(f"posting {i} of {entry.name} is not a debit in {claims['currency']}")
        debits += int(posting["debit"])
    return debits


def verify_certificate(certificate: Certificate) -> str:
    """Check everything but the head's signature; a line saying what is proven."""
    fields = certificate.fields
    claims = {
        "milestone_id": fields.text("milestone_id"),
        "metric": fields.text("metric"),
        "unit": fields.text("unit"),
        "currency": fields.text("currency"),
        "verified_value": fields.text("verified_value"),
        "payout_amount": fields.whole("payout_amount", minimum=1),
    }
    paid = sum(_entry_debits(entry, certificate.head, claims) for entry in certificate.entries)
    amount_paid = fields.whole("amount_paid")
    if paid != amount_paid:
        raise Invalid(
            f"amount_paid of {certificate.name} is {amount_paid}, but the funder's debits in "
            f"the signed entries add up to {paid}"
        )
    payout = int(claims["payout_amount"])
    if not 0 < paid <= payout:
        raise Invalid(f"the funder paid {paid} of a payout of {payout}: impossible")
    exact = _decimal_text(fields, "verified_value") * Fraction(paid, payout)
    units = fields.text("units")
    if units != units_text(exact):
        raise Invalid(
            f"units of {certificate.name} is {_show(units)}, but verified value x paid / "
            f"payout rounds to {units_text(exact)}"
        )
    return (
        f"OK certificate: {paid} minor units of {claims['currency']} paid for {units} "
        f"{claims['unit']} ({claims['metric']}) of milestone {claims['milestone_id']}, in "
        f"{len(certificate.entries)} payout entr{'y' if len(certificate.entries) == 1 else 'ies'}"
        f" of the tree of size {certificate.head.tree_size}"
    )


# --- the command line ---------------------------------------------------------------------

_JSON_TYPES = {list: "array", str: "string", bool: "boolean", type(None): "null"}


def load(path: str, option: str) -> tuple[Any, str]:
    """The JSON document at `path` and the name errors call it by (`h1.json (--first)`)."""
    name = f"{'standard input' if path == '-' else path} ({option})"
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                raw = handle.read()
    except OSError as error:
        raise BadInput(f"{name} cannot be read: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{name} is not UTF-8 text, so not JSON") from None
    if not text.strip():
        raise BadInput(f"{name} is empty (did the download fail?)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(
            f"{name} is not JSON ({error.msg} at line {error.lineno} column {error.colno}): "
            f"{_show(text[:30])}"
        ) from None
    except RecursionError:
        raise BadInput(f"{name} is JSON nested too deeply to be a Tributary document") from None
    if not isinstance(document, dict):
        kind = _JSON_TYPES.get(type(document), "number")
        raise BadInput(f"{name} holds a JSON {kind}, not an object")
    return document, name


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, like every other refusal (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    head_cmd = commands.add_parser("tree-head", help="verify a signed tree head")
    head_cmd.add_argument("--head", required=True, help="a tree head, from /tree-head")
    head_cmd.add_argument("--key", required=True, help="the signing key (/key)")
    inclusion = commands.add_parser("inclusion", help="verify an inclusion proof")
    inclusion.add_argument("--proof", required=True, help="/entries/{id}/proof?tree_size=N")
    inclusion.add_argument("--head", required=True, help="the tree head of size N")
    consistency = commands.add_parser("consistency", help="verify a consistency proof")
    consistency.add_argument("--proof", required=True, help="/consistency?first=M&second=N")
    consistency.add_argument("--first", required=True, help="the tree head of size M")
    consistency.add_argument("--second", required=True, help="the tree head of size N")
    certificate = commands.add_parser("certificate", help="verify an impact certificate")
    certificate.add_argument(
        "--certificate", required=True, help="/v1/orgs/{org}/certificates/{milestone}"
    )
    for command in (inclusion, consistency, certificate):
        command.add_argument("--key", help="the signing key (/key); checks every head's signature")
        command.add_argument(
            "--no-signature",
            action="store_true",
            help="check the Merkle proof only, NOT the signatures (says so in the output)",
        )
    return parser


def _key(args: argparse.Namespace) -> tuple[bytes, str] | None:
    """The public key to check heads with, or None when --no-signature says not to."""
    no_signature = getattr(args, "no_signature", False)
    if args.key is not None and no_signature:
        raise BadInput("give --key or --no-signature, not both")
    if args.key is None:
        if no_signature:
            return None
        raise BadInput(
            f"{args.command} checks the tree heads' signatures: give --key key.json (from GET "
            "/v1/public/ledger/key), or --no-signature to check the Merkle proof alone"
        )
    document, name = load(args.key, "--key")
    return read_key(document, name), name


def _head(path: str, option: str) -> Head:
    return read_head(*load(path, option))


def run(args: argparse.Namespace) -> str:
    """Check what the arguments name; the line to print when it verifies."""
    key = _key(args)
    unsigned = (
        "; WARNING: signatures were NOT checked (--no-signature), so nothing shows "
        "that the log signed {}"
    )
    if args.command == "tree-head":
        head = _head(args.head, "--head")
        assert key is not None  # --key is required by the parser
        verify_head(head, *key)
        return f"OK tree head of size {head.tree_size} is signed by the key in {key[1]}"
    if args.command == "inclusion":
        proof = read_inclusion(*load(args.proof, "--proof"))
        head = _head(args.head, "--head")
        verify_inclusion_of(proof, head)
        if key is not None:
            verify_head(head, *key)
        done = f"OK entry {proof.entry_id} is leaf {proof.leaf_index} of the tree of size "
        done += f"{head.tree_size}"
        signed = f"; its head is signed by the key in {key[1]}" if key else ""
        return done + (signed or unsigned.format("this head"))
    if args.command == "certificate":
        document = read_certificate(*load(args.certificate, "--certificate"))
        done = verify_certificate(document)
        if key is not None:
            verify_head(document.head, *key)
        signed = f"; its head is signed by the key in {key[1]}" if key else ""
        return done + (signed or unsigned.format("this head"))
    consistency = read_consistency(*load(args.proof, "--proof"))
    first, second = _head(args.first, "--first"), _head(args.second, "--second")
    verify_consistency_of(consistency, first, second)
    if key is not None:
        verify_head(first, *key)
        verify_head(second, *key)
    done = f"OK tree {second.tree_size} extends tree {first.tree_size}"
    signed = f"; both heads are signed by the key in {key[1]}" if key else ""
    return done + (signed or unsigned.format("these heads"))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        line = run(args)
    except BadInput as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Invalid as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    print(line)
    if "NOT checked" in line:
        print(
            "WARNING: the tree heads' signatures were NOT checked (--no-signature)", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
