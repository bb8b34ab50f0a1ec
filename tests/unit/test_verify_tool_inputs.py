"""The standalone verifier's command line on inputs that are not what it expects.

`tools/verify_ledger_proof.py` is what a member of the public runs on files fetched with
curl, so its inputs are whatever came back: a 404 problem document, an empty file, the wrong
document, a tampered signature. Each must end in one clear line naming the file (or
argument) and what is wrong with it, with exit status 2 when the tool could not check (bad
input) and 1 only when well-formed documents do not verify. A signature is always checked,
unless `--no-signature` says so out loud.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.ledger import merkle

TOOL_PATH = Path(__file__).resolve().parents[2] / "tools" / "verify_ledger_proof.py"
NOT_SEALED = {
    "type": "https://tributary.dev/problems/not_sealed",
    "title": "Not Found",
    "status": 404,
    "detail": "No entry has been sealed yet.",
    "code": "not_sealed",
}


def signed_log(tmp_path: Path) -> dict[str, Path]:
    """A 7-leaf log with heads at sizes 4 and 7, a proof of leaf 5, and the key, as files."""
    key = Ed25519PrivateKey.generate()
    leaves = [json.dumps({"entry_id": str(i), "amount": i}) for i in range(7)]
    tree = merkle.MerkleTree([leaf.encode() for leaf in leaves[:4]])
    documents: dict[str, Any] = {}
    for name, more in (("h1", []), ("h2", leaves[4:])):
        tree.extend([leaf.encode() for leaf in more])
        root, stamp = tree.root().hex(), "2026-11-25T05:00:00Z"
        signature = key.sign(f"{tree.size}.{root}.{stamp}".encode())
        documents[name] = {
            "tree_size": tree.size,
            "root_hash": root,
            "timestamp": stamp,
            "signature": base64.b64encode(signature).decode(),
        }
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    documents["key"] = {"algorithm": "ed25519", "public_key": base64.b64encode(public).decode()}
    documents["proof"] = {
        "entry_id": "5",
        "leaf_index": 5,
        "tree_size": 7,
        "leaf": leaves[5],
        "leaf_hash": merkle.leaf_hash(leaves[5].encode()).hex(),
        "audit_path": [node.hex() for node in tree.inclusion_proof(5)],
    }
    documents["c"] = {
        "first": 4,
        "second": 7,
        "proof": [node.hex() for node in tree.consistency_proof(4)],
    }
    paths = {}
    for name, body in documents.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(body))
    return paths


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The tool in its own process, in the folder of the documents (so names are short)."""
    return subprocess.run(
        [sys.executable, str(TOOL_PATH), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def one_line(stream: str) -> str:
    lines = stream.strip().splitlines()
    assert len(lines) == 1, stream
    assert "Traceback" not in stream
    return lines[0]


CONSISTENCY = ("consistency", "--proof", "c.json", "--first", "h1.json", "--second", "h2.json")
INCLUSION = ("inclusion", "--proof", "proof.json", "--head", "h2.json")


def test_good_documents_verify_with_the_key(tmp_path: Path) -> None:
    signed_log(tmp_path)
    for args in (CONSISTENCY, INCLUSION, ("tree-head", "--head", "h1.json")):
        done = run(tmp_path, *args, "--key", "key.json")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("OK"), done.stdout
        assert "NOT" not in done.stdout


def test_a_problem_document_is_named_with_its_status_code_and_detail(tmp_path: Path) -> None:
    signed_log(tmp_path)
    (tmp_path / "h1.json").write_text(json.dumps(NOT_SEALED))
    for args in (CONSISTENCY, ("tree-head", "--head", "h1.json")):
        done = run(tmp_path, *args, "--key", "key.json")
        assert done.returncode == 2, done.stderr
        assert one_line(done.stderr).endswith(
            "h1.json (--first) is a problem document (404 not_sealed): "
            "No entry has been sealed yet."
            if args[0] == "consistency"
            else "h1.json (--head) is a problem document (404 not_sealed): "
            "No entry has been sealed yet."
        ), done.stderr
    (tmp_path / "key.json").write_text(json.dumps({**NOT_SEALED, "code": "sealing_off"}))
    done = run(tmp_path, *INCLUSION, "--key", "key.json")
    assert done.returncode == 2
    assert "key.json (--key) is a problem document (404 sealing_off)" in one_line(done.stderr)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("", "h2.json (--second) is empty"),
        ("<html>502 Bad Gateway</html>", "h2.json (--second) is not JSON"),
        ("[1, 2]", "h2.json (--second) holds a JSON array, not an object"),
        ('{"algorithm": "ed25519", "public_key": "AAAA"}', "h2.json (--second) is not a tree head"),
        ('{"items": [], "next_cursor": null}', "h2.json (--second) is a list of tree heads"),
        (
            '{"tree_size": "7", "root_hash": "00", "timestamp": "t", "signature": "x"}',
            "tree_size of h2.json (--second) must be a whole number",
        ),
        (
            '{"tree_size": 7, "root_hash": "zz", "timestamp": "t", "signature": "x"}',
            "root_hash of h2.json (--second) must be 64 hex digits",
        ),
        (
            '{"tree_size": 7, "root_hash": "' + "ab" * 32 + '", "timestamp": "t", '
            '"signature": "not base64!"}',
            "signature of h2.json (--second) is not base64",
        ),
    ],
)
def test_a_malformed_document_is_bad_input_naming_the_file(
    tmp_path: Path, content: str, says: str
) -> None:
    signed_log(tmp_path)
    (tmp_path / "h2.json").write_text(content)
    done = run(tmp_path, *CONSISTENCY, "--key", "key.json")
    assert done.returncode == 2, done.stderr
    assert says in one_line(done.stderr), done.stderr


def test_a_missing_file_and_a_bad_key_are_bad_input(tmp_path: Path) -> None:
    signed_log(tmp_path)
    done = run(tmp_path, *CONSISTENCY, "--key", "nowhere.json")
    assert done.returncode == 2
    assert "nowhere.json (--key) cannot be read" in one_line(done.stderr)
    (tmp_path / "key.json").write_text('{"algorithm": "rsa", "public_key": "AAAA"}')
    done = run(tmp_path, *CONSISTENCY, "--key", "key.json")
    assert done.returncode == 2
    assert "key.json (--key)" in one_line(done.stderr)
    assert "ed25519" in done.stderr


def test_proofs_and_heads_of_different_sizes_are_bad_input(tmp_path: Path) -> None:
    signed_log(tmp_path)
    swapped = ("consistency", "--proof", "c.json", "--first", "h2.json", "--second", "h1.json")
    done = run(tmp_path, *swapped, "--key", "key.json")
    assert done.returncode == 2
    assert "c.json (--proof)" in one_line(done.stderr)
    done = run(
        tmp_path, "inclusion", "--proof", "proof.json", "--head", "h1.json", "--key", "key.json"
    )
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "proof.json (--proof)" in line
    assert "h1.json (--head)" in line


@pytest.mark.parametrize("which", ["h1", "h2"])
def test_a_tampered_signature_does_not_verify(tmp_path: Path, which: str) -> None:
    signed_log(tmp_path)
    head = json.loads((tmp_path / f"{which}.json").read_text())
    signature = bytearray(base64.b64decode(head["signature"]))
    signature[0] ^= 1
    head["signature"] = base64.b64encode(bytes(signature)).decode()
    (tmp_path / f"{which}.json").write_text(json.dumps(head))
    done = run(tmp_path, *CONSISTENCY, "--key", "key.json")
    assert done.returncode == 1, done.stdout
    argument = "--first" if which == "h1" else "--second"
    assert f"signature of {which}.json ({argument}) does not verify" in one_line(done.stderr)
    if which == "h2":
        done = run(tmp_path, *INCLUSION, "--key", "key.json")
        assert done.returncode == 1, done.stdout
        assert "signature of h2.json (--head) does not verify" in one_line(done.stderr)


@pytest.mark.parametrize("args", [CONSISTENCY, INCLUSION], ids=["consistency", "inclusion"])
def test_without_a_key_nothing_is_verified_unless_no_signature_is_said(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    signed_log(tmp_path)
    refused = run(tmp_path, *args)
    assert refused.returncode == 2, refused.stdout
    line = one_line(refused.stderr)
    assert "--key" in line
    assert "--no-signature" in line
    assert "OK" not in refused.stdout
    unchecked = run(tmp_path, *args, "--no-signature")
    assert unchecked.returncode == 0, unchecked.stderr
    assert unchecked.stdout.startswith("OK")
    assert "signatures were NOT checked" in unchecked.stdout
    assert "WARNING" in unchecked.stderr
    both = run(tmp_path, *args, "--key", "key.json", "--no-signature")
    assert both.returncode == 2
    one_line(both.stderr)


def test_a_missing_argument_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run(tmp_path, "consistency", "--proof", "c.json")
    assert done.returncode == 2
    assert "--first" in one_line(done.stderr)
