"""Deposit batches (API.md "Batches"): a bank statement's import, all or nothing.

One transaction and one Idempotency-Key for up to 1,000 items; a refused item refuses the
batch and is named at `errors[0].loc == ["body", "items", i]`; an item whose external_ref
was used returns that deposit and moves nothing. Both engines; verify() runs after each.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from app.db import Database
from app.ledger import MAX_BALANCE
from tests.api.test_balance_limit import NEAR_MAXIMUM, journal_size
from tests.support.factories import ADMIN, OrgHandle, make_org
from tests.support.market import available
from tests.support.statements import recorded_statements


def item(amount: int, ref: str | None = None, currency: str = "USD") -> dict[str, Any]:
    return {"amount": amount, "currency": currency, "external_ref": ref or uuid.uuid4().hex}


async def batch(
    client: httpx.AsyncClient, org: OrgHandle, items: list[dict[str, Any]], **headers: str
) -> httpx.Response:
    return await client.post(
        f"/v1/orgs/{org.id}/deposits/batch", json={"items": items}, headers={**ADMIN, **headers}
    )


def refused_item(response: httpx.Response, status: int, code: str, index: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["errors"][0]["loc"][:3] == ["body", "items", index]
    assert f"Item {index}" in body["detail"]
    return str(body["detail"])


async def test_a_batch_credits_every_item_and_answers_in_request_order(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "funder")
    items = [item(100 * (n + 1)) for n in range(5)] + [item(7, currency="EUR")]
    response = await batch(client, org, items)
    assert response.status_code == 201, response.text
    answered = response.json()["items"]
    assert [(d["amount"], d["currency"], d["external_ref"]) for d in answered] == [
        (i["amount"], i["currency"], i["external_ref"]) for i in items
    ]
    assert {d["org_id"] for d in answered} == {org.id}
    assert len({d["entry_id"] for d in answered}) == 6
    assert await available(client, org) == (1_500, 0)
    assert await available(client, org, "EUR") == (7, 0)
    statement = await client.get(f"/v1/orgs/{org.id}/statement?currency=USD", headers=ADMIN)
    lines = statement.json()["items"]
    assert [line["amount"] for line in lines] == [100, 200, 300, 400, 500]


async def test_references_already_used_return_their_deposit_and_move_nothing(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "funder")
    earlier = await client.post(
        f"/v1/orgs/{org.id}/deposits", json=item(250, "bank-0001"), headers=ADMIN
    )
    assert earlier.status_code == 201
    response = await batch(
        client, org, [item(250, "bank-0001"), item(40, "bank-0002"), item(40, "bank-0002")]
    )
    assert response.status_code == 201, response.text
    first, second, repeated = response.json()["items"]
    assert first == earlier.json()
    assert second == repeated
    assert await available(client, org) == (290, 0)
    again = await batch(client, org, [item(40, "bank-0002"), item(1, "bank-0003")])
    assert again.json()["items"][0] == second
    assert await available(client, org) == (291, 0)


async def test_a_reference_naming_other_money_refuses_the_whole_batch(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "funder")
    await client.post(f"/v1/orgs/{org.id}/deposits", json=item(250, "bank-1"), headers=ADMIN)
    entries = await journal_size(client)
    fresh = [item(10), item(20)]
    response = await batch(client, org, [*fresh, item(999, "bank-1")])
    assert "bank-1" in refused_item(response, 409, "external_ref_conflict", 2)
    inside = await batch(client, org, [item(5, "dup"), item(6, "dup")])
    refused_item(inside, 409, "external_ref_conflict", 1)
    assert await available(client, org) == (250, 0)
    assert await journal_size(client) == entries
    retried = await batch(client, org, fresh)  # the refused batch's references stayed free
    assert retried.status_code == 201
    assert await available(client, org) == (280, 0)


async def test_an_item_past_the_balance_limit_is_named_and_nothing_is_credited(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "funder")
    entries = await journal_size(client)
    response = await batch(client, org, [item(1), item(NEAR_MAXIMUM - 5), item(NEAR_MAXIMUM - 5)])
    refused_item(response, 422, "balance_limit", 2)
    body = response.json()
    assert (body["limit"], body["requested"], body["balance"]) == (
        MAX_BALANCE,
        NEAR_MAXIMUM - 5,
        NEAR_MAXIMUM - 4,
    )
    assert await available(client, org) == (0, 0)
    assert await journal_size(client) == entries


async def test_malformed_batches_are_422_naming_the_field_and_change_nothing(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "funder")
    for items, loc in (
        ([item(10), item(0)], ["body", "items", 1, "amount"]),
        ([item(10), {"amount": 5, "currency": "USD"}], ["body", "items", 1, "external_ref"]),
        ([item(10, currency="usd")], ["body", "items", 0, "currency"]),
        ([], ["body", "items"]),
        ([item(1) for _ in range(1_001)], ["body", "items"]),
    ):
        response = await batch(client, org, items)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == loc
    unknown = await batch(client, org, [item(10), item(5, currency="XYZ")])
    refused_item(unknown, 422, "unsupported_currency", 1)
    assert await available(client, org) == (0, 0)


async def test_only_the_admin_imports_and_only_into_an_existing_organisation(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "funder")
    own = await client.post(
        f"/v1/orgs/{org.id}/deposits/batch", json={"items": [item(10)]}, headers=org.headers
    )
    assert own.status_code == 403
    missing = await client.post(
        f"/v1/orgs/{uuid.uuid4()}/deposits/batch", json={"items": [item(10)]}, headers=ADMIN
    )
    assert missing.status_code == 404
    assert await available(client, org) == (0, 0)


async def test_one_idempotency_key_covers_the_batch(client: httpx.AsyncClient) -> None:
    org = await make_org(client, "funder")
    items = [item(10), item(20)]
    first = await batch(client, org, items, **{"Idempotency-Key": "import-2026-12-01"})
    again = await batch(client, org, items, **{"Idempotency-Key": "import-2026-12-01"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert await available(client, org) == (30, 0)


async def test_a_full_batch_is_a_handful_of_statements_on_postgresql(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Set-based: 1,000 deposits cost what one does, give or take (issue 15)."""
    org = await make_org(client, "funder")
    items = [item(n + 1) for n in range(1_000)]
    with recorded_statements(database.engine) as sent:
        response = await batch(client, org, items, **{"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    assert await available(client, org) == (500_500, 0)
    budget = 5 if database.dialect == "postgresql" else 8_010
    print(f"{len(sent)} statements on {database.dialect}")
    assert len(sent) <= budget, f"{len(sent)} statements: {sent[:12]}"
