"""The public ledger log never links an anonymous pledge to its funder (API.md, "The public
ledger log"): a leaf's account tags are neither computable from public data (the public key,
org ids, the published code) nor shared between a funder's anonymous and named entries, and
every proof still verifies with the standalone tool in its own process."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from app.db import Database
from app.ledger import tables
from app.ledger.accounts import account_id_for
from tests.api.test_public_ledger import verifier
from tests.support.factories import ADMIN, OrgHandle
from tests.support.market import funder, future, open_challenge, pledge
from tests.support.signing import seal_everything


@dataclass
class Books:
    funder: OrgHandle
    key: dict[str, Any]
    head: dict[str, Any]
    proofs: dict[str, dict[str, Any]]  # entry id -> its proof, as the public gets it
    pledge_of: dict[str, str | None]  # entry id -> the pledge its meta names, if any
    anonymous: set[str]  # the funder's anonymous pledges
    named: str  # the funder's named pledge
    deposit_entry: str
    withdrawal_entry: str


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _market(client: httpx.AsyncClient, database: Database) -> Books:
    """One funder: a deposit, a named pledge, an anonymous direct, threshold (met) and match
    (drawn, re-held) pledge, the challenge's cancellation (refunds, a released hold), and a
    withdrawal; another funder's pledge feeds the match. Then everything is sealed."""
    alice = await funder(client, 0)
    deposit = await _ok(
        await client.post(
            f"/v1/orgs/{alice.id}/deposits",
            json={"amount": 20_000, "currency": "USD", "external_ref": f"anon-{uuid.uuid4()}"},
            headers=ADMIN,
        ),
        201,
    )
    challenge, steward = await open_challenge(client)
    cid = challenge["id"]
    named = await _ok(await pledge(client, alice, cid, amount=1_000), 201)
    direct = await _ok(await pledge(client, alice, cid, amount=2_000, anonymous=True), 201)
    threshold = await _ok(
        await pledge(
            client,
            alice,
            cid,
            kind="threshold",
            amount=1_500,
            threshold_amount=4_000,
            deadline=future(10),
            anonymous=True,
        ),
        201,
    )
    assert threshold["status"] == "active"  # met at once: 1,000 + 2,000 + 1,500 >= 4,000
    match = await _ok(
        await pledge(client, alice, cid, kind="match", amount=800, match_ratio=1.0, anonymous=True),
        201,
    )
    await _ok(await pledge(client, await funder(client, 1_000), cid, amount=300), 201)
    await _ok(await client.post(f"/v1/challenges/{cid}/cancel", headers=steward.headers))
    withdrawal = await _ok(
        await client.post(
            f"/v1/orgs/{alice.id}/withdrawals",
            json={"amount": 500, "currency": "USD"},
            headers=alice.headers,
        ),
        201,
    )
    await seal_everything(database)

    async with database.read() as session:
        sealed = (await session.scalars(select(tables.merkle_leaves.c.entry_id))).all()
        metas = dict(
            (await session.execute(select(tables.entries.c.id, tables.entries.c.meta))).all()
        )
    proofs = {
        str(entry_id): await _ok(await client.get(f"/v1/public/ledger/entries/{entry_id}/proof"))
        for entry_id in sealed
    }
    return Books(
        funder=alice,
        key=await _ok(await client.get("/v1/public/ledger/key")),
        head=await _ok(await client.get("/v1/public/ledger/tree-head")),
        proofs=proofs,
        pledge_of={str(e): (metas[e] or {}).get("pledge_id") for e in sealed},
        anonymous={direct["id"], threshold["id"], match["id"]},
        named=named["id"],
        deposit_entry=deposit["entry_id"],
        withdrawal_entry=withdrawal["entry_id"],
    )


def _tags(proof: dict[str, Any]) -> list[str]:
    return [str(p["account_tag"]) for p in json.loads(proof["leaf"])["postings"]]


def _public_guesses(public_key_b64: str, org_id: str) -> set[str]:
    """Every tag of the org's wallet that public data and the published code let anyone
    compute: the account id is a UUIDv5 of the org id, keyed the ways a key could be derived
    from the public key alone."""
    public_key = base64.b64decode(public_key_b64)
    account = account_id_for("wallet", "USD", f"org:{org_id}")
    keys = [
        hashlib.sha256(b"tributary-account-tag\x00" + public_key).digest(),
        public_key,
        hashlib.sha256(public_key).digest(),
    ]
    messages = [account.bytes, str(account).encode(), uuid.UUID(org_id).bytes]
    return {
        hmac.new(key, message, hashlib.sha256).hexdigest()[:length]
        for key in keys
        for message in messages
        for length in (32, 64)
    }


async def test_the_public_cannot_compute_a_funders_wallet_tag_from_the_key_and_org_id(
    client: httpx.AsyncClient, database: Database
) -> None:
    books = await _market(client, database)
    guesses = _public_guesses(books.key["public_key"], books.funder.id)
    anonymous = [e for e, p in books.pledge_of.items() if p in books.anonymous]
    assert anonymous  # every anonymous pledge is in the log
    for entry_id in anonymous:
        assert not guesses & set(_tags(books.proofs[entry_id])), (
            f"leaf of {entry_id} carries the funder's wallet tag, computed from public data"
        )
    for entry_id in (books.deposit_entry, books.named, books.withdrawal_entry):
        assert not guesses & set(_tags(books.proofs[entry_id])), "tags are computable"


async def test_anonymous_pledge_leaves_share_no_account_tag_with_the_funders_other_leaves(
    client: httpx.AsyncClient, database: Database
) -> None:
    books = await _market(client, database)
    by_pledge: dict[str, set[str]] = {pid: set() for pid in books.anonymous}
    for entry_id, pledge_id in books.pledge_of.items():
        if pledge_id in by_pledge:
            by_pledge[pledge_id] |= set(_tags(books.proofs[entry_id]))
    outside = {
        tag
        for entry_id, pledge_id in books.pledge_of.items()
        if pledge_id not in books.anonymous
        for tag in _tags(books.proofs[entry_id])
    }
    for pledge_id, tags in by_pledge.items():
        assert tags, f"pledge {pledge_id} has no leaves"
        assert not tags & outside, f"anonymous pledge {pledge_id} shares a tag with the log"
        for other, other_tags in by_pledge.items():
            if other != pledge_id:
                assert not tags & other_tags, "two anonymous pledges of one funder are linked"

    # What the public still learns: the funder's wallet is one tag across its named entries
    # (deposit, named pledge, its refund, withdrawal), and one tag within each anonymous
    # pledge's own entries (funded from and refunded to the same account).
    [wallet] = {
        p["account_tag"]
        for p in json.loads(books.proofs[books.deposit_entry]["leaf"])["postings"]
        if p["credit"] == 20_000
    }
    assert wallet in _tags(books.proofs[books.named])
    assert wallet in _tags(books.proofs[books.withdrawal_entry])
    named_refund = [e for e, p in books.pledge_of.items() if p == books.named and e != books.named]
    assert named_refund
    assert all(wallet in _tags(books.proofs[e]) for e in named_refund)
    for pledge_id in books.anonymous:
        leaves = [
            json.loads(books.proofs[e]["leaf"])
            for e, p in books.pledge_of.items()
            if p == pledge_id and json.loads(books.proofs[e]["leaf"])["postings"]
        ]
        funded = next(leaf for leaf in leaves if leaf["entry_id"] == pledge_id)
        refund = next(leaf for leaf in leaves if leaf["kind"] == "pledge_refund")
        assert {p["account_tag"] for p in funded["postings"]} == {
            p["account_tag"] for p in refund["postings"]
        }, "one anonymous pledge's own entries still show the same accounts"


async def test_every_leaf_balances_and_verifies_with_the_standalone_tool(
    client: httpx.AsyncClient, database: Database, tmp_path: Path
) -> None:
    books = await _market(client, database)
    assert len(books.proofs) == books.head["tree_size"]
    for entry_id, proof in books.proofs.items():
        leaf = json.loads(proof["leaf"])
        assert leaf["entry_id"] == entry_id
        assert sum(p["debit"] - p["credit"] for p in leaf["postings"]) == 0
        assert books.funder.id not in proof["leaf"]
    checked = [e for e, p in books.pledge_of.items() if p in books.anonymous]
    checked += [books.named, books.deposit_entry, books.withdrawal_entry]
    for entry_id in checked:
        proof = books.proofs[entry_id]
        assert verifier(tmp_path, "inclusion", proof=proof, head=books.head, key=books.key) == 0
