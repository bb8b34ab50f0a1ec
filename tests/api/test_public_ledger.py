"""The public ledger log over HTTP, checked by the standalone verifier a member of the public
would run (tools/verify_ledger_proof.py, standard library only), in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db import Database
from tests.support.market import funder, open_challenge, pledge
from tests.support.signing import SIGNER, seal_everything

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_ledger_proof.py"


def verifier(folder: Path, command: str, **documents: dict[str, Any]) -> int:
    """Run the standalone verifier on JSON documents exactly as the API served them."""
    args = [sys.executable, str(TOOL), command]
    for name, document in documents.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(document))
        args += [f"--{name}", str(path)]
    return subprocess.run(args, capture_output=True, timeout=60).returncode


async def _json(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def some_money_moves(client: httpx.AsyncClient, count: int) -> list[str]:
    challenge, _ = await open_challenge(client)
    ids = []
    for amount in range(1, count + 1):
        made = await pledge(client, await funder(client, amount), challenge["id"], amount=amount)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])  # a direct pledge's ledger entry has the pledge's id
    return ids


async def test_a_member_of_the_public_can_check_heads_proofs_and_consistency(
    client: httpx.AsyncClient, database: Database, tmp_path: Path
) -> None:
    ids = await some_money_moves(client, 3)
    await seal_everything(database)
    key = await _json(client, "/v1/public/ledger/key")
    assert key == {"algorithm": "ed25519", "public_key": SIGNER.public_key_b64}
    first = await _json(client, "/v1/public/ledger/tree-head")
    assert verifier(tmp_path, "tree-head", head=first, key=key) == 0

    ids += await some_money_moves(client, 2)
    await seal_everything(database)
    second = await _json(client, "/v1/public/ledger/tree-head")
    assert second["tree_size"] > first["tree_size"]
    assert (
        await _json(client, f"/v1/public/ledger/tree-head?tree_size={first['tree_size']}") == first
    )
    for entry_id in ids:
        proof = await _json(client, f"/v1/public/ledger/entries/{entry_id}/proof")
        assert (proof["entry_id"], proof["tree_size"]) == (entry_id, second["tree_size"])
        assert json.loads(proof["leaf"])["entry_id"] == entry_id
        assert verifier(tmp_path, "inclusion", proof=proof, head=second, key=key) == 0
    old = await _json(
        client, f"/v1/public/ledger/entries/{ids[0]}/proof?tree_size={first['tree_size']}"
    )
    assert verifier(tmp_path, "inclusion", proof=old, head=first, key=key) == 0

    path = f"/v1/public/ledger/consistency?first={first['tree_size']}&second={second['tree_size']}"
    consistency = await _json(client, path)
    assert (
        verifier(tmp_path, "consistency", proof=consistency, first=first, second=second, key=key)
        == 0
    )

    leaf = json.loads(proof["leaf"])
    for posting in leaf["postings"]:
        posting["debit"] *= 10
        posting["credit"] *= 10  # still balanced, but not what the ledger sealed
    forged = dict(proof, leaf=json.dumps(leaf, sort_keys=True, separators=(",", ":")))
    assert forged["leaf"] != proof["leaf"]
    assert verifier(tmp_path, "inclusion", proof=forged, head=second, key=key) == 1
    assert verifier(tmp_path, "tree-head", head=dict(second, tree_size=1), key=key) == 1


async def test_unsealed_and_impossible_requests_are_clear_4xx(
    client: httpx.AsyncClient, database: Database
) -> None:
    nothing = await client.get("/v1/public/ledger/tree-head")
    assert (nothing.status_code, nothing.json()["code"]) == (404, "not_sealed")
    (entry_id,) = await some_money_moves(client, 1)
    waiting = await client.get(f"/v1/public/ledger/entries/{entry_id}/proof")
    assert (waiting.status_code, waiting.json()["code"]) == (404, "not_sealed")
    sealed = await seal_everything(database)
    cases = {
        f"/v1/public/ledger/tree-head?tree_size={sealed + 1}": (404, "not_sealed"),
        "/v1/public/ledger/tree-head?tree_size=0": (422, "validation_error"),
        f"/v1/public/ledger/entries/{entry_id}/proof?tree_size={sealed + 5}": (404, "not_sealed"),
        "/v1/public/ledger/entries/not-a-uuid/proof": (422, "validation_error"),
        "/v1/public/ledger/consistency?first=2&second=1": (422, "invalid_tree_sizes"),
        f"/v1/public/ledger/consistency?first=1&second={sealed + 1}": (404, "not_sealed"),
        "/v1/public/ledger/consistency?first=1": (422, "validation_error"),
        "/v1/public/ledger/consistency?first=-1&second=x": (422, "validation_error"),
    }
    for path, (status, code) in cases.items():
        response = await client.get(path)
        assert (response.status_code, response.json()["code"]) == (status, code), path
        assert response.headers["content-type"] == "application/problem+json"


async def test_tree_heads_lists_every_signed_size_newest_first_in_pages(
    client: httpx.AsyncClient, database: Database
) -> None:
    empty = await client.get("/v1/public/ledger/tree-heads")
    assert (empty.status_code, empty.json()) == (200, {"items": [], "next_cursor": None})
    sizes = []
    for count in (2, 1, 1, 3, 1):
        await some_money_moves(client, count)
        await seal_everything(database)
        sizes.append((await _json(client, "/v1/public/ledger/tree-head"))["tree_size"])
    newest_first = sorted(sizes, reverse=True)
    assert len(set(sizes)) == 5

    whole = await _json(client, "/v1/public/ledger/tree-heads")
    assert [head["tree_size"] for head in whole["items"]] == newest_first
    assert whole["next_cursor"] is None
    for head in whole["items"]:
        size = head["tree_size"]
        assert await _json(client, f"/v1/public/ledger/tree-head?tree_size={size}") == head
    assert whole["items"][0] == await _json(client, "/v1/public/ledger/tree-head")

    pages, cursor = [], None
    for _ in range(5):  # three pages of at most two heads; a cursor loop would not end here
        path = "/v1/public/ledger/tree-heads?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await _json(client, path)
        pages.append([head["tree_size"] for head in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:]]

    for path, code in {
        "/v1/public/ledger/tree-heads?limit=0": "validation_error",
        "/v1/public/ledger/tree-heads?limit=201": "validation_error",
        "/v1/public/ledger/tree-heads?cursor=not-a-cursor": "invalid_cursor",
        "/v1/public/ledger/tree-heads?cursor=LTE": "invalid_cursor",  # "-1"
    }.items():
        response = await client.get(path)
        assert (response.status_code, response.json()["code"]) == (422, code), path
        assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture
def unsealed_settings(settings: Any) -> Any:
    return settings.model_copy(update={"ledger_signing_key": None})


async def test_without_a_signing_key_the_key_endpoint_says_sealing_is_off(
    database: Database, unsealed_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.main import create_app

    monkeypatch.chdir(tmp_path)
    settings = unsealed_settings.model_copy(
        update={"database_url": "postgresql://unused/x", "ledger_signing_key_file": None}
    )
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/v1/public/ledger/key")
    assert (response.status_code, response.json()["code"]) == (404, "sealing_off")


async def test_without_a_signing_key_every_ledger_endpoint_says_sealing_is_off(
    client: httpx.AsyncClient,
    database: Database,
    unsealed_settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`not_sealed` means "wait"; on a deployment that never seals, waiting never helps, so
    every public ledger read says `sealing_off`, whatever the journal holds."""
    from app.main import create_app

    monkeypatch.chdir(tmp_path)
    settings = unsealed_settings.model_copy(
        update={"database_url": "postgresql://unused/x", "ledger_signing_key_file": None}
    )
    (unsealed_entry,) = await some_money_moves(client, 1)
    paths = [
        "/v1/public/ledger/key",
        "/v1/public/ledger/tree-head",
        "/v1/public/ledger/tree-head?tree_size=1",
        "/v1/public/ledger/tree-heads",
        "/v1/public/ledger/tree-heads?limit=1",
        f"/v1/public/ledger/entries/{unsealed_entry}/proof",
        f"/v1/public/ledger/entries/{unsealed_entry}/proof?tree_size=1",
        "/v1/public/ledger/consistency?first=1&second=2",
    ]
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        for path in paths:
            response = await http.get(path)
            assert (response.status_code, response.json()["code"]) == (404, "sealing_off"), path
            assert response.headers["content-type"] == "application/problem+json"
        await seal_everything(database)  # heads signed earlier, by a key since removed
        for path in paths:
            response = await http.get(path)
            assert (response.status_code, response.json()["code"]) == (404, "sealing_off"), path
        invalid = await http.get("/v1/public/ledger/consistency?first=2&second=1")
        assert (invalid.status_code, invalid.json()["code"]) == (422, "invalid_tree_sizes")
        footer = (await http.get("/")).text
        assert "This deployment does not seal its ledger" in footer
        assert "Ledger sealed at" not in footer
