"""Error messages are written for people; the numbers travel beside them.

A representative refusal of each kind: the `detail` says it in words, money in its currency
("USD 1,000.00"), lists as "a and b"; the machine-readable `code` and the amounts (minor
units) and currency are separate fields of the problem. No message shows a Python list, a
repr quote or a bare count of minor units.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.factories import ADMIN, make_org
from tests.support.market import funder, future, open_challenge, pledge

PYTHON_LOOKS = ("['", "[]", "{'", "Decimal(", "UUID(", "None")


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = dict(response.json())
    assert body["code"] == code
    for text in [body["detail"], *(error["msg"] for error in body.get("errors", []))]:
        assert not any(looks in text for looks in PYTHON_LOOKS), text
    return body


async def test_a_short_wallet_says_both_amounts_in_money_and_gives_them_as_fields(
    client: httpx.AsyncClient,
) -> None:
    challenge, _ = await open_challenge(client)
    alice = await funder(client, 33_900_000)
    body = problem(
        await pledge(client, alice, challenge["id"], amount=40_000_000), 409, "insufficient_funds"
    )
    assert body["detail"] == (
        "The wallet has USD 339,000.00 available; the pledge needs USD 400,000.00."
    )
    assert (body["available"], body["requested"], body["currency"]) == (
        33_900_000,
        40_000_000,
        "USD",
    )
    withdrawal = await client.post(
        f"/v1/orgs/{alice.id}/withdrawals",
        json={"amount": 33_900_001, "currency": "USD"},
        headers=alice.headers,
    )
    body = problem(withdrawal, 409, "insufficient_funds")
    assert body["detail"] == (
        "The wallet has USD 339,000.00 available; the withdrawal needs USD 339,000.01."
    )
    assert (body["available"], body["requested"]) == (33_900_000, 33_900_001)


async def test_money_follows_its_currency_s_minor_units(client: httpx.AsyncClient) -> None:
    challenge, _ = await open_challenge(client, currency="JPY")
    taro = await funder(client, 1_500, currency="JPY")
    body = problem(
        await pledge(client, taro, challenge["id"], amount=2_000), 409, "insufficient_funds"
    )
    assert body["detail"] == "The wallet has JPY 1,500 available; the pledge needs JPY 2,000."


async def test_missing_and_stray_pledge_terms_are_named_in_words(client: httpx.AsyncClient) -> None:
    challenge, _ = await open_challenge(client)
    alice = await funder(client)
    missing = await pledge(client, alice, challenge["id"], kind="threshold", amount=10)
    assert problem(missing, 422, "invalid_pledge_terms")["detail"] == (
        "A threshold pledge needs deadline and threshold_amount."
    )
    stray = await pledge(client, alice, challenge["id"], amount=10, threshold_amount=20)
    assert problem(stray, 422, "invalid_pledge_terms")["detail"] == (
        "A direct pledge takes no threshold_amount."
    )
    low = await pledge(
        client, alice, challenge["id"], kind="threshold", amount=5_000,
        threshold_amount=5_000, deadline=future(),
    )  # fmt: skip
    assert problem(low, 422, "invalid_pledge_terms")["detail"] == (
        "threshold_amount (USD 50.00) must exceed the pledge's own amount (USD 50.00): a "
        "threshold the pledge meets alone is no condition."
    )
    earmarked = await pledge(
        client, alice, challenge["id"], amount=10, earmark={"sdg_targets": ["3.1"]}
    )
    assert problem(earmarked, 422, "invalid_earmark")["detail"] == (
        "earmark.sdg_targets must be among the challenge's targets (6.1 and 6.2)."
    )


async def test_codes_people_typed_are_quoted_and_listed(client: httpx.AsyncClient) -> None:
    steward = await make_org(client, "steward")
    made = await client.post(
        "/v1/challenges",
        json={"title": "T", "currency": "USD", "sdg_targets": ["6.1", "6.99", "18.1"]},
        headers=steward.headers,
    )
    assert problem(made, 422, "invalid_sdg_target")["detail"] == (
        'sdg_targets must be 1 to 20 UN SDG target codes such as 6.1 or 6.b; "6.99" and '
        '"18.1" are not.'
    )
    region = await client.post(
        "/v1/challenges",
        json={"title": "T", "currency": "USD", "sdg_targets": ["6.1"], "region": "XX-99"},
        headers=steward.headers,
    )
    assert problem(region, 422, "invalid_region")["detail"] == (
        'region "XX-99" is not an ISO 3166 country (KE) or subdivision (KE-30).'
    )
    currency = await client.post(
        "/v1/challenges",
        json={"title": "T", "currency": "XAU", "sdg_targets": ["6.1"]},
        headers=steward.headers,
    )
    assert problem(currency, 422, "unsupported_currency")["detail"] == (
        "XAU is not a currency Tributary can hold (no ISO 4217 minor unit)."
    )
    hook = await client.post(
        "/v1/webhooks",
        json={"url": "https://example.org/hook", "event_types": ["pledge.mad", "nope"]},
        headers=steward.headers,
    )
    detail = problem(hook, 422, "unknown_event_type")["detail"]
    assert detail.startswith('Unknown event types "nope" and "pledge.mad"; the known ones are ')
    assert detail.endswith(", or * for all.")


async def test_roles_and_names_are_said_plainly(client: httpx.AsyncClient) -> None:
    steward = await make_org(client, "steward", name="Kisumu Water Trust")
    challenge, _ = await open_challenge(client, steward)
    refused = await pledge(client, steward, challenge["id"], amount=10)
    assert problem(refused, 403, "forbidden")["detail"] == (
        "This action needs the funder role, which your organisation lacks."
    )
    again = await client.post(
        "/v1/orgs", json={"name": "Kisumu Water Trust", "roles": ["funder"]}, headers=ADMIN
    )
    assert problem(again, 409, "org_name_taken")["detail"] == (
        'An organisation named "Kisumu Water Trust" already exists.'
    )
