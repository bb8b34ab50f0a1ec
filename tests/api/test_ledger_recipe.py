"""docs/ledger.md's recipe for checking the public log works exactly as written.

A real server (its own process, on the test's database) answers; the recipe's shell block is
read from the document and run verbatim with bash and curl, in a folder that holds nothing
but a copy of the standalone tool, as a member of the public would. Then the tool is fed
what goes wrong in practice: the server's own 404 problem documents (saved by curl like any
answer), a tampered signature, and no `--key`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.db import Database
from tests.support.factories import ADMIN, make_org
from tests.support.servers import Server, start_server, stop_server
from tests.support.signing import seal_everything

ROOT = Path(__file__).resolve().parents[2]
LEDGER_DOC = ROOT / "docs" / "ledger.md"
MARKER = "<!-- tests/api/test_ledger_recipe.py runs the next block"
TIMEOUT_SECONDS = 60


def recipe() -> str:
    """The shell block that follows the marker in docs/ledger.md."""
    text = LEDGER_DOC.read_text(encoding="utf-8")
    assert MARKER in text, "docs/ledger.md lost its tested recipe"
    found = re.search(r"```sh\n(.*?)```", text[text.index(MARKER) :], re.DOTALL)
    assert found is not None
    return found.group(1)


@pytest.fixture
def server(database: Database, database_url: str, tmp_path: Path) -> Iterator[Server]:
    """The app in its own process on the test's database; sealing is left to the test."""
    running = start_server(database_url, tmp_path, TRIBUTARY_DUE_WORK_INTERVAL_SECONDS="0")
    try:
        yield running
    finally:
        stop_server(running)


@pytest.fixture
def public_folder(tmp_path: Path) -> Path:
    """Where the member of the public works: a copy of the tool and nothing else."""
    folder = tmp_path / "public"
    (folder / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "verify_ledger_proof.py", folder / "tools")
    return folder


def shell(folder: Path, script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=folder,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def tool(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return shell(folder, "python3 tools/verify_ledger_proof.py " + " ".join(args))


def save(folder: Path, server: Server, path: str, name: str) -> dict[str, object]:
    """What the server answers, saved byte for byte as curl would."""
    response = httpx.get(f"{server.url}/v1/public/ledger{path}", timeout=10)
    (folder / name).write_bytes(response.content)
    return dict(response.json())


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


async def deposit(client: httpx.AsyncClient, amount: int) -> str:
    org = await make_org(client, "funder")
    made = await client.post(
        f"/v1/orgs/{org.id}/deposits",
        json={"amount": amount, "currency": "USD", "external_ref": f"recipe-{org.id}"},
        headers=ADMIN,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["entry_id"])


async def test_the_documented_recipe_runs_as_written_against_a_live_server(
    client: httpx.AsyncClient, database: Database, server: Server, public_folder: Path
) -> None:
    sizes, entry_ids = [], []
    for round_size in (2, 1, 3):
        entry_ids += [await deposit(client, amount) for amount in range(1, round_size + 1)]
        await seal_everything(database)
        sizes.append(len(entry_ids))
    assert sizes == [2, 3, 6]

    done = shell(public_folder, recipe(), TRIBUTARY_URL=server.url, ENTRY_ID=entry_ids[1])
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "6 3 2"  # the listed sizes, newest first
    assert lines[1].startswith("OK tree 6 extends tree 2"), lines
    assert lines[2].startswith(f"OK entry {entry_ids[1]} is leaf 1 of the tree of size 6"), lines
    assert lines[3].startswith("OK tree head of size 6 is signed"), lines
    assert len(lines) == 4
    assert "NOT" not in done.stdout
    heads = json.loads((public_folder / "heads.json").read_text())
    assert [head["tree_size"] for head in heads["items"]] == [6, 3, 2]
    assert heads["next_cursor"] is None
    assert json.loads((public_folder / "h1.json").read_text()) == heads["items"][2]


async def test_the_tool_names_the_servers_404_documents_and_refuses_them(
    client: httpx.AsyncClient, database: Database, server: Server, public_folder: Path
) -> None:
    folder = public_folder
    save(folder, server, "/key", "key.json")
    assert save(folder, server, "/tree-heads", "heads.json") == {"items": [], "next_cursor": None}
    save(folder, server, "/tree-head", "head.json")
    done = tool(folder, "tree-head", "--head", "head.json", "--key", "key.json")
    assert done.returncode == 2, done.stdout
    assert error_line(done).endswith(
        "head.json (--head) is a problem document (404 not_sealed): No entry has been sealed yet."
    )

    entry_id = await deposit(client, 5)
    await deposit(client, 7)
    await seal_everything(database)
    save(folder, server, "/tree-head", "h2.json")
    save(folder, server, "/tree-head?tree_size=1", "h1.json")  # no head was signed at 1
    save(folder, server, "/consistency?first=1&second=2", "c.json")
    done = tool(
        folder, "consistency", "--proof c.json --first h1.json --second h2.json --key key.json"
    )
    assert done.returncode == 2, done.stdout
    assert error_line(done).endswith(
        "h1.json (--first) is a problem document (404 not_sealed): "
        "No tree head was signed at tree size 1."
    )
    save(folder, server, f"/entries/{entry_id}/proof?tree_size=9", "proof.json")
    done = tool(folder, "inclusion", "--proof proof.json --head h2.json --key key.json")
    assert done.returncode == 2, done.stdout
    assert "proof.json (--proof) is a problem document (404 not_sealed)" in error_line(done)


async def test_a_tampered_signature_fails_and_no_key_means_no_verdict(
    client: httpx.AsyncClient, database: Database, server: Server, public_folder: Path
) -> None:
    folder = public_folder
    entry_id = await deposit(client, 3)
    await seal_everything(database)
    await deposit(client, 4)
    await seal_everything(database)
    save(folder, server, "/key", "key.json")
    save(folder, server, "/tree-head?tree_size=1", "h1.json")
    second = save(folder, server, "/tree-head?tree_size=2", "h2.json")
    save(folder, server, "/consistency?first=1&second=2", "c.json")
    save(folder, server, f"/entries/{entry_id}/proof?tree_size=2", "proof.json")
    consistency = "consistency --proof c.json --first h1.json --second h2.json"
    inclusion = "inclusion --proof proof.json --head h2.json"
    for check in (consistency, inclusion):
        assert tool(folder, check, "--key key.json").returncode == 0

        refused = tool(folder, check)  # no --key: nothing is verified
        assert refused.returncode == 2, refused.stdout
        assert "--key" in error_line(refused)
        assert "--no-signature" in error_line(refused)
        assert refused.stdout == ""
        unchecked = tool(folder, check, "--no-signature")
        assert unchecked.returncode == 0, unchecked.stderr
        assert "signatures were NOT checked" in unchecked.stdout

    signature = bytearray(base64.b64decode(str(second["signature"])))
    signature[10] ^= 0x40
    tampered = dict(second, signature=base64.b64encode(bytes(signature)).decode())
    (folder / "h2.json").write_text(json.dumps(tampered))
    for check in (consistency, inclusion):
        done = tool(folder, check, "--key key.json")
        assert done.returncode == 1, done.stdout
        assert "signature of h2.json" in error_line(done)
        assert "does not verify" in error_line(done)
