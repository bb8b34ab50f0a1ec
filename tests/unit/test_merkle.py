"""RFC 9162 Merkle maths and the standalone verifier, against published test vectors.

Vectors: the RFC 6962 reference leaves, roots, inclusion and consistency proofs from Google's
certificate-transparency-go `merkle` package tests (log_verifier_test.go; its leaf numbers
there are 1-based, the indices here are 0-based). Ed25519: RFC 8032 section 7.1, TESTs 1-2.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger import merkle

TOOL_PATH = Path(__file__).resolve().parents[2] / "tools" / "verify_ledger_proof.py"

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
INCLUSION = [  # (leaf index, tree size, audit path)
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [  # (first, second, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
RFC8032 = [  # (secret seed, public key, message, signature)
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_ledger_proof", TOOL_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()


def test_roots_match_the_published_vectors() -> None:
    assert merkle.MerkleTree().root().hex() == EMPTY
    tree = merkle.MerkleTree()
    for size, (leaf, expected) in enumerate(zip(LEAVES, ROOTS, strict=True), start=1):
        tree.extend([leaf])
        assert tree.root().hex() == expected
        assert merkle.MerkleTree(LEAVES[:size]).root().hex() == expected


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_published_vectors(
    index: int, size: int, path: list[str]
) -> None:
    tree = merkle.MerkleTree(LEAVES)
    proof = tree.inclusion_proof(index, size)
    assert [node.hex() for node in proof] == path
    root = bytes.fromhex(ROOTS[size - 1])
    leaf = merkle.leaf_hash(LEAVES[index])
    assert merkle.verify_inclusion(leaf, index, size, proof, root)
    assert TOOL.verify_inclusion(leaf, index, size, proof, root)
    for wrong_index in {index - 1, index + 1, index ^ 2} - {index}:
        assert not merkle.verify_inclusion(leaf, wrong_index, size, proof, root)
    assert not merkle.verify_inclusion(leaf, index, size * 2, proof, root)
    assert not merkle.verify_inclusion(leaf, index, size, [*proof, root], root)
    assert not merkle.verify_inclusion(leaf, index, size, proof, bytes.fromhex(EMPTY))


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_published_vectors(
    first: int, second: int, path: list[str]
) -> None:
    tree = merkle.MerkleTree(LEAVES)
    proof = tree.consistency_proof(first, second)
    assert [node.hex() for node in proof] == path
    first_root, second_root = bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    assert merkle.verify_consistency(first, second, first_root, second_root, proof)
    assert TOOL.verify_consistency(first, second, first_root, second_root, proof)
    if proof:
        assert not merkle.verify_consistency(first, second, second_root, first_root, proof)
        assert not merkle.verify_consistency(first, second, first_root, second_root, proof[:-1])
        assert not merkle.verify_consistency(first + 1, second, first_root, second_root, proof)


@given(size=st.integers(1, 300), data=st.data())
@settings(max_examples=60, deadline=None)
def test_every_proof_from_stored_nodes_verifies_and_tampering_fails(
    size: int, data: st.DataObject
) -> None:
    leaves = [f"entry-{i}".encode() for i in range(size)]
    tree = merkle.MerkleTree(leaves)
    index = data.draw(st.integers(0, size - 1))
    smaller = data.draw(st.integers(1, size))
    root = tree.root()
    proof = tree.inclusion_proof(index)
    leaf = merkle.leaf_hash(leaves[index])
    assert merkle.verify_inclusion(leaf, index, size, proof, root)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), index, size, proof, root)
    if proof:
        bent = [*proof]
        bent[0] = merkle.leaf_hash(b"x")
        assert not merkle.verify_inclusion(leaf, index, size, bent, root)
    consistency = tree.consistency_proof(smaller)
    assert merkle.verify_consistency(smaller, size, tree.root(smaller), root, consistency)
    assert TOOL.verify_consistency(smaller, size, tree.root(smaller), root, consistency)
    if consistency:
        assert not merkle.verify_consistency(
            smaller, size, merkle.leaf_hash(b"x"), root, consistency
        )


@given(batches=st.lists(st.integers(1, 17), min_size=1, max_size=12))
@settings(max_examples=60, deadline=None)
def test_appending_in_batches_stores_the_same_nodes_as_building_at_once(
    batches: list[int],
) -> None:
    leaves = [f"leaf-{i}".encode() for i in range(sum(batches))]
    incremental, start = merkle.MerkleTree(), 0
    for count in batches:
        incremental.extend(leaves[start : start + count])
        start += count
        assert incremental.root() == merkle.MerkleTree(leaves[:start]).root()
    assert incremental.nodes == merkle.MerkleTree(leaves).nodes


def test_appending_reads_only_the_frontier() -> None:
    tree = merkle.MerkleTree([bytes([i % 256]) for i in range(1000)])
    reads: list[tuple[int, int]] = []

    def counting(level: int, index: int) -> bytes:
        reads.append((level, index))
        return tree.get_node(level, index)

    merkle.nodes_to_store_on_append(1000, [merkle.leaf_hash(b"new")], counting)
    assert len(reads) <= 10


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.inclusion_proof(5, 5),
        lambda t: t.inclusion_proof(-1, 5),
        lambda t: t.consistency_proof(6, 5),
        lambda t: merkle.subtree_hash(3, 3, t.get_node),
        lambda t: merkle.root_hash(-1, t.get_node),
    ],
)
def test_invalid_arguments_raise_value_error(call: object) -> None:
    tree = merkle.MerkleTree(LEAVES[:5])
    with pytest.raises(ValueError, match=r"integer|not in a tree|must not exceed|empty range"):
        call(tree)  # type: ignore[operator]


def test_malformed_proofs_are_refused_not_raised() -> None:
    root = bytes.fromhex(ROOTS[7])
    leaf = merkle.leaf_hash(LEAVES[0])
    assert not merkle.verify_inclusion(leaf, 0, 8, [b"short"], root)
    assert not merkle.verify_inclusion(leaf, 8, 8, [], root)
    assert not merkle.verify_consistency(2, 1, root, root, [])
    assert not TOOL.verify_inclusion(leaf, 0, 8, [b"short"], root)


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032)
def test_standalone_ed25519_accepts_rfc8032_vectors(
    seed: str, public: str, message: str, signature: str
) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    assert key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex() == public
    assert TOOL.ed25519_verify(
        bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature)
    )
    assert not TOOL.ed25519_verify(bytes.fromhex(public), b"tampered", bytes.fromhex(signature))


def test_standalone_ed25519_agrees_with_cryptography() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = key.sign(b"12.abc.2026-11-25T00:00:00Z")
    assert TOOL.ed25519_verify(public, b"12.abc.2026-11-25T00:00:00Z", signature)
    forged = bytes([signature[0] ^ 1]) + signature[1:]
    assert not TOOL.ed25519_verify(public, b"12.abc.2026-11-25T00:00:00Z", forged)
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert not TOOL.ed25519_verify(other, b"12.abc.2026-11-25T00:00:00Z", signature)


def _documents(tmp_path: Path) -> dict[str, Path]:
    key = Ed25519PrivateKey.generate()
    tree = merkle.MerkleTree()
    leaves = [json.dumps({"entry_id": str(i), "amount": i}, sort_keys=True) for i in range(7)]
    tree.extend([leaf.encode() for leaf in leaves[:4]])
    heads = {}
    for name in ("first", "second"):
        if name == "second":
            tree.extend([leaf.encode() for leaf in leaves[4:]])
        root, stamp = tree.root().hex(), "2026-11-25T05:00:00Z"
        signature = key.sign(f"{tree.size}.{root}.{stamp}".encode())
        heads[name] = {
            "tree_size": tree.size,
            "root_hash": root,
            "timestamp": stamp,
            "signature": base64.b64encode(signature).decode(),
        }
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    documents = {
        "key": {"algorithm": "ed25519", "public_key": base64.b64encode(public).decode()},
        "head1": heads["first"],
        "head2": heads["second"],
        "proof": {
            "entry_id": "5",
            "leaf_index": 5,
            "tree_size": 7,
            "leaf": leaves[5],
            "leaf_hash": merkle.leaf_hash(leaves[5].encode()).hex(),
            "audit_path": [node.hex() for node in tree.inclusion_proof(5)],
        },
        "consistency": {
            "first": 4,
            "second": 7,
            "proof": [node.hex() for node in tree.consistency_proof(4)],
        },
    }
    paths = {}
    for name, body in documents.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(body))
    return paths


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL_PATH), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_command_line_verifies_good_documents_and_refuses_forged_ones(tmp_path: Path) -> None:
    p = _documents(tmp_path)
    assert _run("tree-head", "--head", p["head2"], "--key", p["key"]).returncode == 0
    assert (
        _run("inclusion", "--proof", p["proof"], "--head", p["head2"], "--key", p["key"]).returncode
        == 0
    )
    good = _run(
        "consistency",
        *("--proof", p["consistency"], "--first", p["head1"], "--second", p["head2"]),
        *("--key", p["key"]),
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("OK")
    forged = json.loads(p["proof"].read_text())
    forged["leaf"] = forged["leaf"].replace('"amount": 5', '"amount": 500')
    forged["leaf_hash"] = merkle.leaf_hash(forged["leaf"].encode()).hex()
    p["proof"].write_text(json.dumps(forged))
    bad = _run("inclusion", "--proof", p["proof"], "--head", p["head2"], "--key", p["key"])
    assert bad.returncode == 1
    assert "FAILED" in bad.stderr
    head = json.loads(p["head2"].read_text())
    head["tree_size"] = 8
    p["head2"].write_text(json.dumps(head))
    assert _run("tree-head", "--head", p["head2"], "--key", p["key"]).returncode == 1
