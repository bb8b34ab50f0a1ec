"""The whole market over HTTP: swarms bid, are awarded, claim, are verified and paid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from tests.support.factories import ADMIN, OrgHandle, make_org
from tests.support.market import (
    available,
    due_work_at,
    funder,
    future,
    open_challenge,
    pledge,
    read_pledge,
    totals,
)


@dataclass
class Market:
    challenge: dict[str, Any]
    steward: OrgHandle
    m1: dict[str, Any]
    m2: dict[str, Any]
    lead: OrgHandle
    partner: OrgHandle
    swarm: dict[str, Any]
    verifiers: list[OrgHandle]


async def milestone(
    client: httpx.AsyncClient, market_challenge: str, steward: OrgHandle, **over: Any
) -> dict[str, Any]:
    body = {
        "title": "Boreholes",
        "metric": "working boreholes",
        "unit": "boreholes",
        "target": 100,
        "payout_rule": "pro_rata",
        "budget_cap": 10_000,
        "quorum": 2,
        "due_at": future(60),
    }
    body.update(over)
    response = await client.post(
        f"/v1/challenges/{market_challenge}/milestones", json=body, headers=steward.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def build(client: httpx.AsyncClient) -> Market:
    challenge, steward = await open_challenge(client)
    m1 = await milestone(client, challenge["id"], steward)
    m2 = await milestone(client, challenge["id"], steward, title="Second")
    lead, partner = await make_org(client, "actor"), await make_org(client, "actor")
    created = await client.post(
        "/v1/swarms",
        json={
            "name": "WellWorks + SunPump",
            "members": [
                {"org_id": lead.id, "share_bps": 6_000},
                {"org_id": partner.id, "share_bps": 4_000},
            ],
        },
        headers=lead.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "forming"
    accepted = await client.post(
        f"/v1/swarms/{created.json()['id']}/accept", headers=partner.headers
    )
    assert accepted.json()["status"] == "active"
    verifiers = [await make_org(client, "verifier") for _ in range(3)]
    return Market(challenge, steward, m1, m2, lead, partner, accepted.json(), verifiers)


async def bid(
    client: httpx.AsyncClient, market: Market, amount: int, milestone_id: str | None = None
) -> httpx.Response:
    return await client.post(
        f"/v1/milestones/{milestone_id or market.m1['id']}/bids",
        json={"swarm_id": market.swarm["id"], "amount": amount, "plan": "Drill 100 boreholes"},
        headers=market.lead.headers,
    )


async def assign(
    client: httpx.AsyncClient, market: Market, milestone_id: str | None = None
) -> httpx.Response:
    return await client.put(
        f"/v1/milestones/{milestone_id or market.m1['id']}/verifiers",
        json={"org_ids": [v.id for v in market.verifiers]},
        headers=market.steward.headers,
    )


async def claim(client: httpx.AsyncClient, market: Market, value: int = 80) -> httpx.Response:
    return await client.post(
        f"/v1/milestones/{market.m1['id']}/claims",
        json={
            "reported_value": value,
            "evidence": [
                {"uri": "https://evidence.example/report.pdf", "sha256": "a" * 64, "note": "survey"}
            ],
        },
        headers=market.lead.headers,
    )


async def attest(
    client: httpx.AsyncClient,
    verifier: OrgHandle,
    claim_id: str,
    verdict: str,
    value: int | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"verdict": verdict}
    if value is not None:
        body["value"] = value
    return await client.post(
        f"/v1/claims/{claim_id}/attestations", json=body, headers=verifier.headers
    )


async def test_the_whole_market_pays_exactly_and_cancellation_returns_every_cent(
    client: httpx.AsyncClient,
) -> None:
    market = await build(client)
    a, b, c = (
        await funder(client, 10_000),
        await funder(client, 10_000),
        await funder(client, 10_000),
    )
    cid = market.challenge["id"]
    pa = (await pledge(client, a, cid, amount=6_000)).json()
    pb = (await pledge(client, b, cid, amount=3_000, anonymous=True)).json()
    pc = (
        await pledge(client, c, cid, amount=1_000, earmark={"milestone_ids": [market.m2["id"]]})
    ).json()

    offer = (await bid(client, market, 8_000)).json()
    rival = await client.post(
        f"/v1/milestones/{market.m1['id']}/bids",
        json={"swarm_id": market.swarm["id"], "amount": 9_000, "plan": "alt"},
        headers=market.lead.headers,
    )
    awarded = await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers)
    assert awarded.status_code == 200, awarded.text
    assert awarded.json()["status"] == "awarded"
    bids = (
        await client.get(f"/v1/milestones/{market.m1['id']}/bids", headers=market.steward.headers)
    ).json()
    assert {x["id"]: x["status"] for x in bids} == {
        offer["id"]: "awarded",
        rival.json()["id"]: "rejected",
    }
    # 8,000 over A (6,000) and B (3,000) pro rata; C is earmarked elsewhere.
    assert [(await read_pledge(client, p["id"]))["allocated"] for p in (pa, pb, pc)] == [
        5_333,
        2_667,
        0,
    ]
    assert (await totals(client, cid))["allocated"] == 8_000

    assert (await assign(client, market)).status_code == 200
    submitted = (await claim(client, market, 80)).json()
    first = await attest(client, market.verifiers[0], submitted["id"], "approve", 70)
    assert first.json()["claim_status"] == "submitted"
    second = await attest(client, market.verifiers[1], submitted["id"], "approve", 80)
    assert second.json()["claim_status"] == "verified"
    late = await attest(client, market.verifiers[2], submitted["id"], "approve", 90)
    # The contract changed (API.md, round 2): an attestation after the claim was decided is
    # recorded, not refused, and does not count.
    assert (late.status_code, late.json()["counted"]) == (201, False)

    paid = (await client.get(f"/v1/milestones/{market.m1['id']}")).json()
    assert paid["status"] == "paid"
    assert paid["payout"]["amount"] == 6_000  # median 75 of target 100: 0.75 x 8,000
    assert (paid["payout"]["outcome_value"], paid["payout"]["outcome_fraction"]) == ("75", "0.75")
    assert {s["org_id"]: s["amount"] for s in paid["payout"]["splits"]} == {
        market.lead.id: 3_600,
        market.partner.id: 2_400,
    }
    assert await available(client, market.lead) == (3_600, 0)
    assert await available(client, market.partner) == (2_400, 0)
    after_a, after_b = await read_pledge(client, pa["id"]), await read_pledge(client, pb["id"])
    assert (after_a["available"], after_a["allocated"], after_a["paid"]) == (2_000, 0, 4_000)
    assert (after_b["available"], after_b["allocated"], after_b["paid"]) == (1_000, 0, 2_000)
    assert {p["org_id"]: p["amount"] for p in after_a["paid_to"]} == {
        market.lead.id: 2_400,
        market.partner.id: 1_600,
    }
    assert await totals(client, cid) == {
        "held": 0,
        "available": 4_000,
        "allocated": 0,
        "paid": 6_000,
        "returned": 0,
    }

    cancelled = await client.post(f"/v1/challenges/{cid}/cancel", headers=market.steward.headers)
    assert cancelled.status_code == 200
    assert await available(client, a) == (4_000 + 2_000, 0)
    assert await available(client, b) == (7_000 + 1_000, 0)
    assert await available(client, c) == (10_000, 0)
    assert cancelled.json()["totals"] == {
        "held": 0,
        "available": 0,
        "allocated": 0,
        "paid": 6_000,
        "returned": 4_000,
    }


async def test_an_award_larger_than_the_eligible_money_is_409_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    market = await build(client)
    alice = await funder(client, 10_000)
    await pledge(client, alice, market.challenge["id"], amount=500)
    offer = (await bid(client, market, 600)).json()
    response = await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_funds"
    assert (await client.get(f"/v1/milestones/{market.m1['id']}")).json()["status"] == "open"
    assert (await totals(client, market.challenge["id"]))["available"] == 500
    bids = (await client.get(f"/v1/milestones/{market.m1['id']}/bids", headers=ADMIN)).json()
    assert [b["status"] for b in bids] == ["submitted"]


async def test_rejections_reject_the_claim_and_the_swarm_may_claim_again(
    client: httpx.AsyncClient,
) -> None:
    market = await build(client)
    await pledge(client, await funder(client), market.challenge["id"], amount=5_000)
    offer = (await bid(client, market, 5_000)).json()
    await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers)
    await assign(client, market)
    first = (await claim(client, market)).json()
    assert (await claim(client, market)).status_code == 409  # one claim at a time
    await attest(client, market.verifiers[0], first["id"], "reject")
    decided = await attest(client, market.verifiers[1], first["id"], "reject")
    assert decided.json()["claim_status"] == "rejected"
    assert (await client.get(f"/v1/milestones/{market.m1['id']}")).json()["status"] == "awarded"
    second = await claim(client, market, 100)
    assert second.status_code == 201
    for verifier in market.verifiers[:2]:
        await attest(client, verifier, second.json()["id"], "approve", 100)
    assert await available(client, market.lead) == (3_000, 0)


async def test_a_milestone_past_due_fails_and_its_escrow_returns(
    client: httpx.AsyncClient, database: Database
) -> None:
    market = await build(client)
    alice = await funder(client, 5_000)
    made = (await pledge(client, alice, market.challenge["id"], amount=5_000)).json()
    offer = (await bid(client, market, 4_000)).json()
    await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers)
    assert (await read_pledge(client, made["id"]))["available"] == 1_000
    report = await due_work_at(database, datetime.now(UTC) + timedelta(days=61))
    assert report.processed["milestone_due_dates"] == 1
    assert (await client.get(f"/v1/milestones/{market.m1['id']}")).json()["status"] == "failed"
    assert (await read_pledge(client, made["id"]))["available"] == 5_000


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ([("lead", 5_000), ("partner", 4_000)], "invalid_shares"),
        ([("partner", 10_000)], "invalid_members"),
        ([("lead", 5_000), ("lead", 5_000)], "invalid_members"),
        ([("lead", 5_000), ("funder", 5_000)], "not_an_actor"),
    ],
)
async def test_invalid_swarms_are_422(
    client: httpx.AsyncClient, members: list[tuple[str, int]], code: str
) -> None:
    orgs = {
        "lead": await make_org(client, "actor"),
        "partner": await make_org(client, "actor"),
        "funder": await make_org(client, "funder"),
    }
    response = await client.post(
        "/v1/swarms",
        json={"name": "S", "members": [{"org_id": orgs[n].id, "share_bps": s} for n, s in members]},
        headers=orgs["lead"].headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == code


async def test_bids_follow_the_rules(client: httpx.AsyncClient) -> None:
    market = await build(client)
    over = await bid(client, market, 10_001)
    assert (over.status_code, over.json()["code"]) == (422, "amount_over_budget")
    forming = await client.post(
        "/v1/swarms",
        json={
            "name": "F",
            "members": [
                {"org_id": market.lead.id, "share_bps": 5_000},
                {"org_id": market.partner.id, "share_bps": 5_000},
            ],
        },
        headers=market.lead.headers,
    )
    inactive = await client.post(
        f"/v1/milestones/{market.m1['id']}/bids",
        json={"swarm_id": forming.json()["id"], "amount": 10, "plan": "p"},
        headers=market.lead.headers,
    )
    assert inactive.status_code == 409
    not_lead = await client.post(
        f"/v1/milestones/{market.m1['id']}/bids",
        json={"swarm_id": market.swarm["id"], "amount": 10, "plan": "p"},
        headers=market.partner.headers,
    )
    assert not_lead.status_code == 403
    offer = (await bid(client, market, 100)).json()
    withdrawn = await client.post(f"/v1/bids/{offer['id']}/withdraw", headers=market.lead.headers)
    assert withdrawn.json()["status"] == "withdrawn"
    assert (
        await client.post(f"/v1/bids/{offer['id']}/withdraw", headers=market.lead.headers)
    ).status_code == 409
    assert (
        await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers)
    ).status_code == 409
    mine = await client.get(
        f"/v1/milestones/{market.m1['id']}/bids", headers=market.partner.headers
    )
    assert [b["id"] for b in mine.json()] == [offer["id"]]
    stranger = await make_org(client, "actor")
    assert (
        await client.get(f"/v1/milestones/{market.m1['id']}/bids", headers=stranger.headers)
    ).json() == []


async def test_verifiers_must_be_verifiers_enough_and_independent(
    client: httpx.AsyncClient,
) -> None:
    market = await build(client)
    funder_org = await make_org(client, "funder")
    wrong = await client.put(
        f"/v1/milestones/{market.m1['id']}/verifiers",
        json={"org_ids": [market.verifiers[0].id, funder_org.id]},
        headers=market.steward.headers,
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "not_a_verifier")
    few = await client.put(
        f"/v1/milestones/{market.m1['id']}/verifiers",
        json={"org_ids": [market.verifiers[0].id]},
        headers=market.steward.headers,
    )
    assert (few.status_code, few.json()["code"]) == (422, "too_few_verifiers")
    both = await make_org(client, "actor", "verifier")
    await pledge(client, await funder(client), market.challenge["id"], amount=1_000)
    swarm = await client.post(
        "/v1/swarms",
        json={"name": "Mixed", "members": [{"org_id": both.id, "share_bps": 10_000}]},
        headers=both.headers,
    )
    offer = await client.post(
        f"/v1/milestones/{market.m1['id']}/bids",
        json={"swarm_id": swarm.json()["id"], "amount": 1_000, "plan": "p"},
        headers=both.headers,
    )
    await client.post(f"/v1/bids/{offer.json()['id']}/award", headers=market.steward.headers)
    conflicted = await client.put(
        f"/v1/milestones/{market.m1['id']}/verifiers",
        json={"org_ids": [both.id, market.verifiers[0].id]},
        headers=market.steward.headers,
    )
    assert (conflicted.status_code, conflicted.json()["code"]) == (409, "conflict_of_interest")


async def test_a_steward_holding_the_actor_role_cannot_award_its_own_swarm(
    client: httpx.AsyncClient,
) -> None:
    steward = await make_org(client, "steward", "actor")
    challenge, _ = await open_challenge(client, steward)
    milestone_ = await milestone(client, challenge["id"], steward)
    await pledge(client, await funder(client), challenge["id"], amount=5_000)
    swarm = await client.post(
        "/v1/swarms",
        json={"name": "In-house", "members": [{"org_id": steward.id, "share_bps": 10_000}]},
        headers=steward.headers,
    )
    offer = await client.post(
        f"/v1/milestones/{milestone_['id']}/bids",
        json={"swarm_id": swarm.json()["id"], "amount": 1_000, "plan": "do it ourselves"},
        headers=steward.headers,
    )
    assert offer.status_code == 201, offer.text
    award = await client.post(f"/v1/bids/{offer.json()['id']}/award", headers=steward.headers)
    assert (award.status_code, award.json()["code"]) == (409, "conflict_of_interest")
    assert (await totals(client, challenge["id"]))["allocated"] == 0
    bids = await client.get(f"/v1/milestones/{milestone_['id']}/bids", headers=steward.headers)
    assert [b["status"] for b in bids.json()] == ["submitted"]


async def test_claims_and_attestations_are_for_the_right_parties_only(
    client: httpx.AsyncClient,
) -> None:
    market = await build(client)
    await pledge(client, await funder(client), market.challenge["id"], amount=2_000)
    offer = (await bid(client, market, 2_000)).json()
    await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers)
    early = await claim(client, market)
    assert (early.status_code, early.json()["code"]) == (409, "verifiers_not_assigned")
    await assign(client, market)
    not_lead = await client.post(
        f"/v1/milestones/{market.m1['id']}/claims",
        json={"reported_value": 1, "evidence": [{"uri": "https://e.example/x"}]},
        headers=market.partner.headers,
    )
    assert not_lead.status_code == 403
    made = (await claim(client, market)).json()
    outsider = await make_org(client, "verifier")
    assert (await attest(client, outsider, made["id"], "approve", 1)).status_code == 404
    assert (await attest(client, market.verifiers[0], made["id"], "approve")).status_code == 422
    assert (await attest(client, market.verifiers[0], made["id"], "reject")).status_code == 201
    again = await attest(client, market.verifiers[0], made["id"], "reject")
    assert (again.status_code, again.json()["code"]) == (409, "already_attested")
    for headers, status in (
        (market.steward.headers, 200),
        (market.partner.headers, 200),
        (market.verifiers[1].headers, 200),
        (ADMIN, 200),
        (outsider.headers, 404),
        ({}, 401),
    ):
        assert (await client.get(f"/v1/claims/{made['id']}", headers=headers)).status_code == status


async def test_escrow_that_comes_back_to_an_expired_pledge_goes_on_to_the_funders_wallet(
    client: httpx.AsyncClient, database: Database
) -> None:
    market = await build(client)
    cid = market.challenge["id"]
    leaving = await funder(client, 1_000)
    staying = await funder(client, 1_000)
    gone = (await pledge(client, leaving, cid, amount=1_000, expires_at=future(10))).json()
    await pledge(client, staying, cid, amount=1_000)
    offer = (await bid(client, market, 2_000)).json()
    assert (
        await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers)
    ).status_code == 200
    now = datetime.now(UTC)
    await due_work_at(database, now + timedelta(days=11))  # expires with nothing unallocated
    assert (await read_pledge(client, gone["id"]))["status"] == "expired"
    assert await available(client, leaving) == (0, 0)
    await due_work_at(database, now + timedelta(days=61))  # the milestone fails
    assert await available(client, leaving) == (1_000, 0)  # not stranded in the pledge
    assert (await read_pledge(client, gone["id"]))["available"] == 0
    kept = await totals(client, cid)
    assert (kept["available"], kept["allocated"], kept["returned"]) == (1_000, 0, 1_000)


async def test_cancelling_a_challenge_fails_its_awarded_milestones_and_returns_their_escrow(
    client: httpx.AsyncClient,
) -> None:
    market = await build(client)
    cid = market.challenge["id"]
    backer = await funder(client, 5_000)
    await pledge(client, backer, cid, amount=5_000)
    offer = (await bid(client, market, 3_000)).json()
    waiting = (await bid(client, market, 1_000, market.m2["id"])).json()
    assert (
        await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers)
    ).status_code == 200
    cancelled = await client.post(f"/v1/challenges/{cid}/cancel", headers=market.steward.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["totals"] == {
        "held": 0,
        "available": 0,
        "allocated": 0,
        "paid": 0,
        "returned": 5_000,
    }
    assert await available(client, backer) == (5_000, 0)
    statuses = {
        m["id"]: m["status"] for m in (await client.get(f"/v1/challenges/{cid}/milestones")).json()
    }
    assert statuses == {market.m1["id"]: "failed", market.m2["id"]: "cancelled"}
    bids = (
        await client.get(f"/v1/milestones/{market.m2['id']}/bids", headers=market.steward.headers)
    ).json()
    assert [(b["id"], b["status"]) for b in bids] == [(waiting["id"], "rejected")]
    late = await claim(client, market)
    assert late.status_code == 409


async def test_awards_and_payouts_over_hundreds_of_pledges_are_split_into_balanced_entries(
    client: httpx.AsyncClient, database: Database
) -> None:
    """An entry holds a few hundred postings at most; 230 pledges need three entries per
    movement, written in the one transaction of the award or payout."""
    market = await build(client)
    cid = market.challenge["id"]
    backers = [await funder(client, 100 + n) for n in range(230)]
    made = [await pledge(client, org, cid, amount=100 + n) for n, org in enumerate(backers)]
    assert all(response.status_code == 201 for response in made)
    offer = (await bid(client, market, 10_000)).json()
    awarded = await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers)
    assert awarded.status_code == 200, awarded.text
    assert (await assign(client, market)).status_code == 200
    submitted = (await claim(client, market, 33)).json()
    await attest(client, market.verifiers[0], submitted["id"], "approve", 33)
    await attest(client, market.verifiers[1], submitted["id"], "approve", 33)
    paid = (await client.get(f"/v1/milestones/{market.m1['id']}")).json()["payout"]
    assert paid["amount"] == 3_300
    assert {s["org_id"]: s["amount"] for s in paid["splits"]} == {
        market.lead.id: 1_980,
        market.partner.id: 1_320,
    }
    async with database.read() as session:
        parts = (
            await session.execute(
                text("SELECT kind, COUNT(*) FROM ledger_entries GROUP BY kind ORDER BY kind")
            )
        ).all()
    assert {
        kind: count for kind, count in parts if kind in ("award", "payout", "escrow_return")
    } == {
        "award": 3,
        "payout": 3,
        "escrow_return": 3,
    }
    statements = [await read_pledge(client, response.json()["id"]) for response in made]
    for member in (market.lead.id, market.partner.id):
        total = sum(
            next((p["amount"] for p in s["paid_to"] if p["org_id"] == member), 0)
            for s in statements
        )
        assert total == {market.lead.id: 1_980, market.partner.id: 1_320}[member]
    assert sum(s["paid"] for s in statements) == 3_300
