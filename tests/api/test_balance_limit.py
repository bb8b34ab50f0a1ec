"""The balance limit over HTTP: a credit that would take an account past 999,999,999,999,999
minor units is a 422 `balance_limit` with the numbers in fields, and changes nothing.

Amounts are capped per request (< 10^15), so before the limit four near-maximum deposits put
a wallet at 4 x 10^15 (issue 16). Both engines; verify() runs after every test.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.ledger import MAX_BALANCE
from tests.api.test_delivery import assign, attest, bid, build, claim
from tests.support.factories import ADMIN, OrgHandle, make_org
from tests.support.market import available, open_challenge, pledge

NEAR_MAXIMUM = 10**15 - 1  # the largest amount one request may carry


async def deposit(
    client: httpx.AsyncClient, org: OrgHandle, amount: int, ref: str, **headers: str
) -> httpx.Response:
    return await client.post(
        f"/v1/orgs/{org.id}/deposits",
        json={"amount": amount, "currency": "USD", "external_ref": ref},
        headers={**ADMIN, **headers},
    )


async def journal_size(client: httpx.AsyncClient) -> int:
    report = (await client.get("/v1/ledger/verify", headers=ADMIN)).json()
    assert report["ok"], report["violations"]
    return int(report["entries_checked"])


def assert_balance_limit(response: httpx.Response, **fields: int) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = dict(response.json())
    assert body["code"] == "balance_limit"
    assert body["limit"] == MAX_BALANCE
    assert {name: body[name] for name in fields} == fields
    assert "999,999,999,999,999" in body["detail"]  # said in words, not only in fields
    return body


async def test_four_near_maximum_deposits_stop_at_the_limit(client: httpx.AsyncClient) -> None:
    org = await make_org(client, "funder")
    first = await deposit(client, org, NEAR_MAXIMUM - 5, "big-1")
    assert first.status_code == 201, first.text
    entries = await journal_size(client)
    for ref in ("big-2", "big-3", "big-4"):
        refused = await deposit(client, org, NEAR_MAXIMUM - 5, ref)
        body = assert_balance_limit(refused, balance=NEAR_MAXIMUM - 5, requested=NEAR_MAXIMUM - 5)
        assert org.id in body["detail"]
    assert await available(client, org) == (NEAR_MAXIMUM - 5, 0)
    assert await journal_size(client) == entries


async def test_a_deposit_exactly_to_the_limit_is_accepted_and_one_cent_more_is_not(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "funder")
    assert (await deposit(client, org, MAX_BALANCE - 100, "fill")).status_code == 201
    assert (await deposit(client, org, 100, "top-up")).status_code == 201
    assert await available(client, org) == (MAX_BALANCE, 0)
    refused = await deposit(client, org, 1, "one-more")
    assert_balance_limit(refused, balance=MAX_BALANCE, requested=1)
    assert await available(client, org) == (MAX_BALANCE, 0)


async def test_a_refused_deposit_leaves_its_external_ref_unused(client: httpx.AsyncClient) -> None:
    """Nothing of the refused deposit stays: after a withdrawal makes room, the same
    external_ref deposits for real (201, not a replay of a deposit that never happened)."""
    org = await make_org(client, "funder")
    assert (await deposit(client, org, MAX_BALANCE, "fill")).status_code == 201
    assert_balance_limit(await deposit(client, org, 500, "late"), requested=500)
    withdrawn = await client.post(
        f"/v1/orgs/{org.id}/withdrawals",
        json={"amount": 500, "currency": "USD"},
        headers=org.headers,
    )
    assert withdrawn.status_code == 201, withdrawn.text
    again = await deposit(client, org, 500, "late")
    assert again.status_code == 201, again.text
    assert await available(client, org) == (MAX_BALANCE, 0)


async def test_an_idempotent_refusal_replays_the_same_problem(client: httpx.AsyncClient) -> None:
    org = await make_org(client, "funder")
    assert (await deposit(client, org, MAX_BALANCE, "fill")).status_code == 201
    first = await deposit(client, org, 7, "over", **{"Idempotency-Key": "limit-1"})
    body = assert_balance_limit(first, requested=7)
    again = await deposit(client, org, 7, "over", **{"Idempotency-Key": "limit-1"})
    assert (again.status_code, again.json()) == (422, body)


async def test_a_refund_into_a_full_wallet_is_refused_cleanly_and_moves_nothing(
    client: httpx.AsyncClient,
) -> None:
    """Any credit, not only deposits: cancelling a challenge returns a pledge to a wallet
    that filled up since. The steward gets a 422 naming the limit (not a 500, and not the
    funder's balance); nothing changes; once the wallet has room the cancel succeeds, even
    retried with the same Idempotency-Key."""
    backer = await make_org(client, "funder")
    assert (await deposit(client, backer, 10_000, "seed")).status_code == 201
    challenge, steward = await open_challenge(client)
    pledged = await pledge(client, backer, challenge["id"], amount=10_000)
    assert pledged.status_code == 201, pledged.text
    assert (await deposit(client, backer, MAX_BALANCE, "fill")).status_code == 201
    entries = await journal_size(client)

    cancel = f"/v1/challenges/{challenge['id']}/cancel"
    keyed = {**steward.headers, "Idempotency-Key": "cancel-1"}
    refused = await client.post(cancel, headers=keyed)
    body = assert_balance_limit(refused, requested=10_000)
    assert "balance" not in body  # another organisation's balance is not the steward's to see
    assert (await client.get(f"/v1/challenges/{challenge['id']}")).json()["status"] == "open"
    assert await journal_size(client) == entries

    withdrawn = await client.post(
        f"/v1/orgs/{backer.id}/withdrawals",
        json={"amount": 10_000, "currency": "USD"},
        headers=backer.headers,
    )
    assert withdrawn.status_code == 201, withdrawn.text
    cancelled = await client.post(cancel, headers=keyed)  # the refusal released the key
    assert cancelled.status_code == 200, cancelled.text
    assert await available(client, backer) == (MAX_BALANCE, 0)


async def test_a_payout_into_a_full_wallet_is_refused_cleanly_and_moves_nothing(
    client: httpx.AsyncClient,
) -> None:
    """The attestation that reaches the quorum pays the swarm in the same transaction; if a
    member's wallet cannot take its share, the attestation is refused (422) and nothing is
    recorded or paid; after the member spends, the same attestation pays."""
    market = await build(client)
    backer = await make_org(client, "funder")
    assert (await deposit(client, backer, 10_000, "seed")).status_code == 201
    assert (await pledge(client, backer, market.challenge["id"], amount=10_000)).status_code == 201
    offer = (await bid(client, market, 8_000)).json()
    awarded = await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers)
    assert awarded.status_code == 200, awarded.text
    assert (await assign(client, market)).status_code == 200
    claimed = await claim(client, market, value=80)  # pays 6,400: 3,840 lead, 2,560 partner
    assert claimed.status_code == 201, claimed.text
    first, second = market.verifiers[:2]
    assert (await attest(client, first, claimed.json()["id"], "approve", 80)).status_code == 201
    assert (await deposit(client, market.lead, MAX_BALANCE, "fill")).status_code == 201
    entries = await journal_size(client)

    refused = await attest(client, second, claimed.json()["id"], "approve", 80)
    assert_balance_limit(refused, requested=3_840)
    read = await client.get(f"/v1/claims/{claimed.json()['id']}", headers=ADMIN)
    assert read.json()["status"] == "submitted"
    assert await available(client, market.partner) == (0, 0)
    assert await journal_size(client) == entries

    spent = await client.post(
        f"/v1/orgs/{market.lead.id}/withdrawals",
        json={"amount": 3_840, "currency": "USD"},
        headers=market.lead.headers,
    )
    assert spent.status_code == 201, spent.text
    paid = await attest(client, second, claimed.json()["id"], "approve", 80)
    assert paid.status_code == 201, paid.text
    assert await available(client, market.lead) == (MAX_BALANCE, 0)
    assert await available(client, market.partner) == (2_560, 0)
