"""Money in and out over HTTP: deposits, withdrawals, balances, statements, verify."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from tests.support.factories import ADMIN, OrgHandle, make_org


async def deposit(
    client: httpx.AsyncClient, org: OrgHandle, amount: int, ref: str, currency: str = "USD"
) -> httpx.Response:
    return await client.post(
        f"/v1/orgs/{org.id}/deposits",
        json={"amount": amount, "currency": currency, "external_ref": ref},
        headers=ADMIN,
    )


async def balances(client: httpx.AsyncClient, org: OrgHandle) -> dict[str, dict[str, int]]:
    response = await client.get(f"/v1/orgs/{org.id}/balances", headers=org.headers)
    assert response.status_code == 200, response.text
    return {row["currency"]: row for row in response.json()["balances"]}


async def test_deposit_credits_the_wallet_and_a_repeat_moves_nothing(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "funder")
    first = await deposit(client, org, 1250, "bank-1")
    assert first.status_code == 201
    body = first.json()
    assert {k: body[k] for k in ("org_id", "amount", "currency", "external_ref")} == {
        "org_id": org.id,
        "amount": 1250,
        "currency": "USD",
        "external_ref": "bank-1",
    }
    again = await deposit(client, org, 1250, "bank-1")
    assert again.status_code == 200
    assert again.json() == body
    assert (await balances(client, org))["USD"] == {"currency": "USD", "available": 1250, "held": 0}


async def test_reusing_an_external_ref_for_other_money_is_409(client: httpx.AsyncClient) -> None:
    org = await make_org(client, "funder")
    await deposit(client, org, 100, "bank-2")
    response = await deposit(client, org, 101, "bank-2")
    assert response.status_code == 409
    assert response.json()["code"] == "external_ref_conflict"


async def test_withdrawal_pays_out_and_overdraft_is_409_insufficient_funds(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "actor")
    await deposit(client, org, 1000, "bank-3")
    ok = await client.post(
        f"/v1/orgs/{org.id}/withdrawals",
        json={"amount": 400, "currency": "USD"},
        headers=org.headers,
    )
    assert ok.status_code == 201
    assert set(ok.json()) >= {"id", "amount", "currency", "entry_id"}
    short = await client.post(
        f"/v1/orgs/{org.id}/withdrawals",
        json={"amount": 601, "currency": "USD"},
        headers=org.headers,
    )
    assert short.status_code == 409
    assert short.json()["code"] == "insufficient_funds"
    assert "USD 6.00 available" in short.json()["detail"]  # in words; the numbers in fields
    assert (short.json()["available"], short.json()["requested"]) == (600, 601)
    none_held = await client.post(
        f"/v1/orgs/{org.id}/withdrawals",
        json={"amount": 1, "currency": "EUR"},
        headers=org.headers,
    )
    assert none_held.status_code == 409
    assert (await balances(client, org))["USD"]["available"] == 600


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount": 10**15},
        {"amount": "100"},
        {"amount": 1.5},
        {"amount": True},
        {"amount": None},
        {"currency": "usd"},
        {"currency": "XAU"},
        {"currency": "ZZZ"},
        {"currency": "US"},
        {"external_ref": ""},
        {"external_ref": "x" * 201},
        {"org_id": "00000000-0000-0000-0000-000000000000"},
    ],
)
async def test_invalid_deposits_are_422_and_move_nothing(
    client: httpx.AsyncClient, database: Database, change: dict[str, Any]
) -> None:
    org = await make_org(client, "funder")
    payload: dict[str, Any] = {"amount": 100, "currency": "USD", "external_ref": "r", **change}
    response = await client.post(f"/v1/orgs/{org.id}/deposits", json=payload, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    async with database.read() as session:
        entries = (await session.execute(text("SELECT COUNT(*) FROM ledger_entries"))).scalar_one()
    assert entries == 0


async def test_deposit_to_unknown_org_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/orgs/00000000-0000-4000-8000-000000000000/deposits",
        json={"amount": 1, "currency": "USD", "external_ref": "x"},
        headers=ADMIN,
    )
    assert response.status_code == 404


async def test_statement_lists_signed_amounts_with_balance_after_and_pages(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "funder")
    for index, amount in enumerate((500, 300, 200)):
        await deposit(client, org, amount, f"s-{index}")
    await client.post(
        f"/v1/orgs/{org.id}/withdrawals",
        json={"amount": 250, "currency": "USD"},
        headers=org.headers,
    )
    first = await client.get(f"/v1/orgs/{org.id}/statement?limit=2", headers=org.headers)
    assert first.status_code == 200
    page = first.json()
    rest = await client.get(
        f"/v1/orgs/{org.id}/statement?limit=2&cursor={page['next_cursor']}", headers=org.headers
    )
    lines = page["items"] + rest.json()["items"]
    assert [(line["kind"], line["amount"], line["balance_after"]) for line in lines] == [
        ("deposit", 500, 500),
        ("deposit", 300, 800),
        ("deposit", 200, 1000),
        ("withdrawal", -250, 750),
    ]
    assert lines[0]["memo"] == "deposit s-0"
    assert rest.json()["next_cursor"] is None


async def test_statement_needs_a_currency_when_the_org_holds_several(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "funder")
    await deposit(client, org, 5, "m-1", "USD")
    await deposit(client, org, 7, "m-2", "JPY")
    ambiguous = await client.get(f"/v1/orgs/{org.id}/statement", headers=org.headers)
    assert ambiguous.status_code == 422
    assert ambiguous.json()["code"] == "currency_required"
    yen = await client.get(f"/v1/orgs/{org.id}/statement?currency=JPY", headers=org.headers)
    assert [line["amount"] for line in yen.json()["items"]] == [7]
    assert set(await balances(client, org)) == {"USD", "JPY"}


async def test_admin_verify_reports_a_healthy_ledger(client: httpx.AsyncClient) -> None:
    org = await make_org(client, "funder")
    await deposit(client, org, 42, "v-1")
    report = (await client.get("/v1/ledger/verify", headers=ADMIN)).json()
    assert report == {"ok": True, "entries_checked": 1, "violations": []}
