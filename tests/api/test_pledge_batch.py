"""Pledge batches (API.md "Batches"): a funder's portfolio across challenges, all or none.

Items are pledged in request order, each exactly as a single pledge would be, in one
transaction; a refused item refuses the batch and is named at `errors[0].loc`.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from app.db import Database
from tests.api.test_balance_limit import journal_size
from tests.api.test_deposit_batch import refused_item
from tests.support.factories import ADMIN, OrgHandle, make_org
from tests.support.market import available, funder, future, open_challenge, read_pledge, totals
from tests.support.statements import recorded_statements


async def batch(
    client: httpx.AsyncClient, org: OrgHandle, items: list[dict[str, Any]], **headers: str
) -> httpx.Response:
    return await client.post(
        "/v1/pledges/batch", json={"items": items}, headers={**org.headers, **headers}
    )


def direct(challenge: dict[str, Any], amount: int, **terms: Any) -> dict[str, Any]:
    return {"challenge_id": challenge["id"], "kind": "direct", "amount": amount, **terms}


async def test_a_portfolio_across_challenges_is_pledged_in_order(
    client: httpx.AsyncClient,
) -> None:
    kisumu, _ = await open_challenge(client)
    machakos, _ = await open_challenge(client, title="Safe water for Machakos")
    alice = await funder(client, 50_000)
    items = [
        direct(kisumu, 5_000),
        {
            "challenge_id": machakos["id"],
            "kind": "threshold",
            "amount": 4_000,
            "threshold_amount": 100_000,
            "deadline": future(),
        },
        direct(machakos, 1_000, anonymous=True),
        {"challenge_id": kisumu["id"], "kind": "match", "amount": 3_000, "match_ratio": "0.5"},
    ]
    response = await batch(client, alice, items)
    assert response.status_code == 201, response.text
    made = response.json()["items"]
    assert [(p["challenge_id"], p["kind"], p["amount"]) for p in made] == [
        (i["challenge_id"], i["kind"], i["amount"]) for i in items
    ]
    assert [(p["status"], p["available"], p["held"]) for p in made] == [
        ("active", 5_000, 0),
        ("held", 0, 4_000),
        ("active", 1_000, 0),
        ("held", 0, 3_000),
    ]
    assert made[2]["anonymous"] is True
    assert await available(client, alice) == (50_000 - 13_000, 7_000)
    assert (await totals(client, kisumu["id"]))["available"] == 5_000
    for answered in made:
        stored = await read_pledge(client, answered["id"])
        assert {k: stored[k] for k in ("status", "available", "held")} == {
            k: answered[k] for k in ("status", "available", "held")
        }


async def test_later_items_meet_and_draw_on_earlier_ones(client: httpx.AsyncClient) -> None:
    challenge, _ = await open_challenge(client)
    sponsor = await funder(client)
    await batch(
        client,
        sponsor,
        [{"challenge_id": challenge["id"], "kind": "match", "amount": 10_000, "match_ratio": 1}],
    )
    alice = await funder(client)
    response = await batch(
        client,
        alice,
        [
            {
                "challenge_id": challenge["id"],
                "kind": "threshold",
                "amount": 1_000,
                "threshold_amount": 6_000,
                "deadline": future(),
            },
            direct(challenge, 2_000),
        ],
    )
    assert response.status_code == 201, response.text
    threshold, gift = response.json()["items"]
    # 1,000 + 2,000 of alice's and the sponsor's 1:1 on both make 6,000: the threshold is met
    assert (threshold["status"], threshold["available"]) == ("active", 1_000)
    assert gift["available"] == 2_000
    assert (await totals(client, challenge["id"]))["available"] == 6_000


async def test_a_refused_item_refuses_the_batch_and_is_named(client: httpx.AsyncClient) -> None:
    kisumu, _ = await open_challenge(client)
    alice = await funder(client, 10_000)
    draft = (
        await client.post(
            "/v1/challenges",
            json={"title": "Not open yet", "currency": "USD", "sdg_targets": ["6.1"]},
            headers=(await make_org(client, "steward")).headers,
        )
    ).json()
    entries = await journal_size(client)
    cases = [
        ([direct(kisumu, 6_000), direct(kisumu, 6_000)], 409, "insufficient_funds", 1),
        (
            [direct(kisumu, 10), {**direct(kisumu, 5), "challenge_id": str(uuid.uuid4())}],
            404,
            "not_found",
            1,
        ),
        ([direct(draft, 10)], 409, "invalid_state", 0),
        (
            [direct(kisumu, 10), direct(kisumu, 10), {**direct(kisumu, 10), "kind": "threshold"}],
            422,
            "invalid_pledge_terms",
            2,
        ),
    ]
    for items, status, code, index in cases:
        refused_item(await batch(client, alice, items), status, code, index)
    assert await available(client, alice) == (10_000, 0)
    assert (await totals(client, kisumu["id"]))["available"] == 0
    listed = await client.get(f"/v1/orgs/{alice.id}/pledges", headers=alice.headers)
    assert listed.json()["items"] == []
    assert await journal_size(client) == entries


async def test_malformed_batches_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    challenge, _ = await open_challenge(client)
    alice = await funder(client)
    for items, loc in (
        ([direct(challenge, 10), direct(challenge, -1)], ["body", "items", 1, "amount"]),
        ([{"kind": "direct", "amount": 5}], ["body", "items", 0, "challenge_id"]),
        ([direct(challenge, 10, colour="red")], ["body", "items", 0, "colour"]),
        ([], ["body", "items"]),
        ([direct(challenge, 1) for _ in range(101)], ["body", "items"]),
    ):
        response = await batch(client, alice, items)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == loc
    assert await available(client, alice) == (100_000, 0)


async def test_only_funders_pledge_in_batches(client: httpx.AsyncClient) -> None:
    challenge, steward = await open_challenge(client)
    response = await client.post(
        "/v1/pledges/batch", json={"items": [direct(challenge, 10)]}, headers=steward.headers
    )
    assert response.status_code == 403
    anonymous = await client.post("/v1/pledges/batch", json={"items": [direct(challenge, 10)]})
    assert anonymous.status_code == 401
    as_admin = await client.post(
        "/v1/pledges/batch", json={"items": [direct(challenge, 10)]}, headers=ADMIN
    )
    assert as_admin.status_code == 403


async def test_one_idempotency_key_covers_the_portfolio(client: httpx.AsyncClient) -> None:
    challenge, _ = await open_challenge(client)
    alice = await funder(client, 1_000)
    items = [direct(challenge, 100), direct(challenge, 200)]
    first = await batch(client, alice, items, **{"Idempotency-Key": "portfolio-1"})
    again = await batch(client, alice, items, **{"Idempotency-Key": "portfolio-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert await available(client, alice) == (700, 0)


async def test_a_portfolio_costs_a_few_statements_per_pledge_on_postgresql(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Challenges are locked once, together; each direct pledge then costs what a single
    one does without its request's overhead (issue 15)."""
    challenges = [(await open_challenge(client))[0] for _ in range(4)]
    alice = await funder(client, 1_000_000)
    assert (await client.get("/v1/me", headers=alice.headers)).status_code == 200
    items = [direct(challenges[n % 4], n + 1) for n in range(100)]
    with recorded_statements(database.engine) as sent:
        response = await batch(client, alice, items, **{"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    print(f"{len(sent)} statements on {database.dialect}")
    budget = 5 * 100 + 4 if database.dialect == "postgresql" else 16 * 100 + 4
    assert len(sent) <= budget, f"{len(sent)} statements: {sent[:12]}"


async def test_the_batch_is_its_own_resource_in_a_405s_allow_header(
    client: httpx.AsyncClient,
) -> None:
    """`/v1/pledges/batch` also fits `/v1/pledges/{pledge_id}`; a 405 names only what the
    batch path serves, as the OpenAPI document says."""
    for method in ("OPTIONS", "GET", "PUT", "DELETE"):
        batch = await client.request(method, "/v1/pledges/batch")
        assert (batch.status_code, batch.headers["allow"]) == (405, "POST"), method
    one = await client.request("OPTIONS", f"/v1/pledges/{uuid.uuid4()}")
    assert (one.status_code, one.headers["allow"]) == (405, "GET")
