"""Price per outcome over HTTP: a per-unit bid escrows unit_price x max_units and is paid
unit_price x min(verified value, max_units); the rest returns to the pledges."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_delivery import Market, assign, attest, build, milestone
from tests.support.factories import ADMIN
from tests.support.market import available, funder, pledge, read_pledge, totals


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def per_unit_bid(
    client: httpx.AsyncClient, market: Market, milestone_id: str, **terms: Any
) -> httpx.Response:
    body = {"swarm_id": market.swarm["id"], "plan": "Connect households", **terms}
    return await client.post(
        f"/v1/milestones/{milestone_id}/bids", json=body, headers=market.lead.headers
    )


async def deliver(
    client: httpx.AsyncClient, market: Market, milestone_id: str, bid_id: str, value: int
) -> dict[str, Any]:
    """Award the bid, claim `value` units, and have two verifiers approve it."""
    _ok(await client.post(f"/v1/bids/{bid_id}/award", headers=market.steward.headers))
    _ok(await assign(client, market, milestone_id))
    claim = _ok(
        await client.post(
            f"/v1/milestones/{milestone_id}/claims",
            json={"reported_value": value, "evidence": [{"uri": "https://e.example/r.pdf"}]},
            headers=market.lead.headers,
        ),
        201,
    )
    for verifier in market.verifiers[:2]:
        _ok(await attest(client, verifier, claim["id"], "approve", value), 201)
    return dict(_ok(await client.get(f"/v1/milestones/{milestone_id}")))


async def test_600_a_unit_for_700_of_1000_units_pays_420000_and_returns_180000(
    client: httpx.AsyncClient,
) -> None:
    market = await build(client)
    cid = market.challenge["id"]
    backer = await funder(client, 600_000)
    backing = _ok(await pledge(client, backer, cid, amount=600_000), 201)
    households = await milestone(
        client, cid, market.steward, unit="households", target=1_000, budget_cap=600_000
    )
    offer = _ok(
        await per_unit_bid(
            client,
            market,
            households["id"],
            amount=600_000,
            pricing="per_unit",
            unit_price=600,
            max_units=1_000,
        ),
        201,
    )
    assert (offer["pricing"], offer["unit_price"], offer["max_units"]) == ("per_unit", 600, 1_000)

    paid = await deliver(client, market, households["id"], offer["id"], 700)

    assert paid["status"] == "paid"
    assert paid["payout"]["amount"] == 420_000
    assert paid["payout"]["outcome_value"] == "700"
    assert paid["payout"]["outcome_fraction"] == "0.7"
    assert sorted(s["amount"] for s in paid["payout"]["splits"]) == [168_000, 252_000]
    assert await available(client, market.lead) == (252_000, 0)
    assert (await read_pledge(client, backing["id"]))["available"] == 180_000
    assert (await totals(client, cid))["paid"] == 420_000
    report = _ok(await client.get("/v1/ledger/verify", headers=ADMIN))
    assert report["ok"], report["violations"]
    benchmark = _ok(await client.get("/v1/public/benchmarks?sdg=6.1&unit=households"))
    assert benchmark["items"] == [
        {
            "sdg_target": "6.1",
            "unit": "households",
            "currency": "USD",
            "milestones": 1,
            "median_cost_per_unit": 600,
            "p25": 600,
            "p75": 600,
        }
    ]
    by_goal = _ok(await client.get("/v1/public/benchmarks?sdg=6&unit=households"))["items"]
    assert [(i["sdg_target"], i["median_cost_per_unit"]) for i in by_goal] == [
        ("6.1", 600),
        ("6.2", 600),
    ]
    assert _ok(await client.get("/v1/public/benchmarks?unit=wells"))["items"] == []
    home = (await client.get("/")).text
    assert "What a verified unit of outcome cost" in home
    assert "<td>SDG 6.1</td><td>households</td><td>1</td><td>USD 6.00</td>" in home


async def test_benchmarks_take_median_and_quartiles_over_paid_milestones(
    client: httpx.AsyncClient,
) -> None:
    market = await build(client)
    cid = market.challenge["id"]
    _ok(await pledge(client, await funder(client, 30_000), cid, amount=30_000), 201)
    for unit_price, value in ((10, 4), (20, 6), (30, 8), (40, 10)):
        made = await milestone(
            client,
            cid,
            market.steward,
            unit="latrines",
            target=10,
            budget_cap=unit_price * 10,
            sdg_targets=["6.2"],
        )
        offer = _ok(
            await per_unit_bid(
                client,
                market,
                made["id"],
                amount=unit_price * 10,
                pricing="per_unit",
                unit_price=unit_price,
                max_units=10,
            ),
            201,
        )
        await deliver(client, market, made["id"], offer["id"], value)
    [item] = _ok(await client.get("/v1/public/benchmarks?unit=latrines"))["items"]
    # Costs 10, 20, 30, 40 per unit: quartiles at ranks 0.75, 1.5, 2.25 (type 7), rounded down.
    assert (item["sdg_target"], item["milestones"]) == ("6.2", 4)
    assert (item["p25"], item["median_cost_per_unit"], item["p75"]) == (17, 25, 32)


async def test_bad_benchmark_queries_are_422(client: httpx.AsyncClient) -> None:
    for query in ("sdg=water", "sdg=6.", "unit=" + "u" * 51, "unit=", "currency=USD"):
        refused = await client.get(f"/v1/public/benchmarks?{query}")
        assert refused.status_code == 422, (query, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")


async def test_a_per_unit_bid_is_paid_for_no_more_than_its_maximum(
    client: httpx.AsyncClient,
) -> None:
    market = await build(client)
    cid = market.challenge["id"]
    _ok(await pledge(client, await funder(client, 5_000), cid, amount=5_000), 201)
    latrines = await milestone(client, cid, market.steward, target=10, budget_cap=5_000)
    offer = _ok(
        await per_unit_bid(
            client,
            market,
            latrines["id"],
            amount=5_000,
            pricing="per_unit",
            unit_price=500,
            max_units=10,
        ),
        201,
    )
    paid = await deliver(client, market, latrines["id"], offer["id"], 15)
    assert (paid["payout"]["amount"], paid["payout"]["outcome_fraction"]) == (5_000, "1")


async def test_mispriced_per_unit_bids_are_422_with_a_clear_message_and_make_nothing(
    client: httpx.AsyncClient,
) -> None:
    market = await build(client)
    target = market.m1["id"]  # budget cap 10,000
    cases = [
        (
            {"amount": 5_000, "pricing": "per_unit", "unit_price": 6, "max_units": 1_000},
            "must equal unit_price x max_units = USD 0.06 x 1,000 = USD 60.00, not USD 50.00",
        ),
        ({"amount": 6_000, "pricing": "per_unit", "unit_price": 6}, "needs both"),
        ({"amount": 6_000, "pricing": "per_unit", "max_units": 1_000}, "needs both"),
        ({"amount": 6_000, "unit_price": 6, "max_units": 1_000}, "belong to per_unit bids"),
    ]
    for terms, message in cases:
        refused = await per_unit_bid(client, market, target, **terms)
        assert refused.status_code == 422, (terms, refused.text)
        assert refused.json()["code"] == "invalid_pricing"
        assert message in refused.json()["detail"]
    for terms in (
        {"amount": 6_000, "pricing": "per_unit", "unit_price": 6, "max_units": 0},
        {"amount": 6_000, "pricing": "per_unit", "unit_price": -6, "max_units": 1_000},
        {"amount": 6_000, "pricing": "by_the_hour"},
        {"amount": 6_000, "pricing": "per_unit", "unit_price": "6", "max_units": 1_000},
    ):
        refused = await per_unit_bid(client, market, target, **terms)
        assert refused.status_code == 422, (terms, refused.text)
    over = await per_unit_bid(
        client, market, target, amount=12_000, pricing="per_unit", unit_price=12, max_units=1_000
    )
    assert over.status_code == 422, over.text
    assert over.json()["code"] == "amount_over_budget"
    listed = _ok(await client.get(f"/v1/milestones/{target}/bids", headers=market.steward.headers))
    assert listed == []
