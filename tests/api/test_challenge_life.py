"""A challenge's life closes cleanly (issue 14): completion, verification time, outcomes that
pay nothing, re-tender, conflicts of interest, SDG earmarks, thresholds that count the match
money they draw, and query parameters that are not ignored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.db import Database
from tests.api.test_delivery import milestone
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


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _swarm(client: httpx.AsyncClient, *shares: int) -> tuple[dict[str, Any], list[OrgHandle]]:
    members = [await make_org(client, "actor") for _ in shares]
    swarm = await _ok(
        await client.post(
            "/v1/swarms",
            json={
                "name": "Swarm",
                "members": [
                    {"org_id": m.id, "share_bps": s} for m, s in zip(members, shares, strict=True)
                ],
            },
            headers=members[0].headers,
        ),
        201,
    )
    for member in members[1:]:
        await _ok(await client.post(f"/v1/swarms/{swarm['id']}/accept", headers=member.headers))
    return swarm, members


async def _award(
    client: httpx.AsyncClient,
    steward: OrgHandle,
    milestone_id: str,
    lead: OrgHandle,
    swarm_id: str,
    amount: int,
) -> dict[str, Any]:
    bid = await _ok(
        await client.post(
            f"/v1/milestones/{milestone_id}/bids",
            json={"swarm_id": swarm_id, "amount": amount, "plan": "deliver"},
            headers=lead.headers,
        ),
        201,
    )
    return await _ok(await client.post(f"/v1/bids/{bid['id']}/award", headers=steward.headers))


async def _verifiers(
    client: httpx.AsyncClient, steward: OrgHandle, milestone_id: str, count: int
) -> list[OrgHandle]:
    found = [await make_org(client, "verifier") for _ in range(count)]
    await _ok(
        await client.put(
            f"/v1/milestones/{milestone_id}/verifiers",
            json={"org_ids": [v.id for v in found]},
            headers=steward.headers,
        )
    )
    return found


async def _claim(client: httpx.AsyncClient, lead: OrgHandle, milestone_id: str, value: int) -> str:
    made = await _ok(
        await client.post(
            f"/v1/milestones/{milestone_id}/claims",
            json={"reported_value": value, "evidence": [{"uri": "https://e.example/r.pdf"}]},
            headers=lead.headers,
        ),
        201,
    )
    return str(made["id"])


async def _attest(
    client: httpx.AsyncClient, verifier: OrgHandle, claim_id: str, verdict: str, value: int | None
) -> httpx.Response:
    body: dict[str, Any] = {"verdict": verdict}
    if value is not None:
        body["value"] = value
    return await client.post(
        f"/v1/claims/{claim_id}/attestations", json=body, headers=verifier.headers
    )


async def _milestone_of(client: httpx.AsyncClient, milestone_id: str) -> dict[str, Any]:
    return await _ok(await client.get(f"/v1/milestones/{milestone_id}"))


async def _verify_ok(client: httpx.AsyncClient) -> None:
    report = await _ok(await client.get("/v1/ledger/verify", headers=ADMIN))
    assert report["ok"], report["violations"]


async def test_a_challenge_delivers_re_tenders_what_was_left_and_completes_to_the_cent(
    client: httpx.AsyncClient,
) -> None:
    """The issue's story: 300,000 and 200,000 pledged; 400,000 awarded; 150 of 200 verified
    pays 300,000; a late reject is recorded; the rest is re-tendered; completion returns
    120,000 and 80,000."""
    challenge, steward = await open_challenge(client)
    cid = challenge["id"]
    a, b = await funder(client, 300_000), await funder(client, 200_000)
    await _ok(await pledge(client, a, cid, amount=300_000), 201)
    await _ok(await pledge(client, b, cid, amount=200_000), 201)
    wells = await milestone(client, cid, steward, target=200, budget_cap=400_000)
    swarm, (lead, partner) = await _swarm(client, 6_000, 4_000)
    await _award(client, steward, wells["id"], lead, swarm["id"], 400_000)
    first, second, third = await _verifiers(client, steward, wells["id"], 3)
    claim_id = await _claim(client, lead, wells["id"], 150)
    await _ok(await _attest(client, first, claim_id, "approve", 150), 201)
    verified = await _ok(await _attest(client, second, claim_id, "approve", 150), 201)
    assert verified["claim_status"] == "verified"
    late = await _ok(await _attest(client, third, claim_id, "reject", None), 201)
    assert late["counted"] is False
    claim = await _ok(await client.get(f"/v1/claims/{claim_id}", headers=steward.headers))
    assert [(x["verdict"], x["counted"]) for x in claim["attestations"]] == [
        ("approve", True),
        ("approve", True),
        ("reject", False),
    ]
    paid = await _milestone_of(client, wells["id"])
    assert (paid["status"], paid["payout"]["amount"]) == ("paid", 300_000)
    assert await available(client, lead) == (180_000, 0)
    assert await available(client, partner) == (120_000, 0)

    again = await _ok(
        await client.post(
            f"/v1/milestones/{wells['id']}/retender",
            json={"due_at": future(90), "budget_cap": 200_000},
            headers=steward.headers,
        ),
        201,
    )
    assert (again["status"], again["target"], again["budget_cap"]) == ("open", 50, 200_000)
    assert again["retender_of"] == wells["id"]

    done = await _ok(await client.post(f"/v1/challenges/{cid}/complete", headers=steward.headers))
    assert done["status"] == "completed"
    assert done["totals"] == {
        "held": 0,
        "available": 0,
        "allocated": 0,
        "paid": 300_000,
        "returned": 200_000,
    }
    assert await available(client, a) == (120_000, 0)
    assert await available(client, b) == (80_000, 0)
    assert (await _milestone_of(client, wells["id"]))["status"] == "paid"
    assert (await _milestone_of(client, again["id"]))["status"] == "cancelled"
    events = (await client.get("/v1/events", headers=steward.headers)).json()["items"]
    assert "challenge.completed" in {e["type"] for e in events}
    assert "challenge.cancelled" not in {e["type"] for e in events}
    await _verify_ok(client)


async def test_completion_waits_for_milestones_in_delivery_and_rolls_remainders_over(
    client: httpx.AsyncClient,
) -> None:
    """409 while a milestone is awarded; then each pledge's remainder, available and held,
    goes where its on_completion says: the wallet, or a new pledge on an open challenge."""
    challenge, steward = await open_challenge(client)
    cid = challenge["id"]
    onward, _ = await open_challenge(client, title="The next challenge")
    rolling, staying = await funder(client, 50_000), await funder(client, 50_000)
    await _ok(
        await pledge(
            client,
            rolling,
            cid,
            amount=10_000,
            on_completion="rollover",
            rollover_challenge_id=onward["id"],
        ),
        201,
    )
    await _ok(
        await pledge(
            client,
            rolling,
            cid,
            kind="threshold",
            amount=5_000,
            threshold_amount=10**9,
            deadline=future(10),
            on_completion="rollover",
            rollover_challenge_id=onward["id"],
        ),
        201,
    )
    await _ok(await pledge(client, staying, cid, amount=6_000), 201)
    wells = await milestone(client, cid, steward, budget_cap=8_000, quorum=1)
    swarm, (lead,) = await _swarm(client, 10_000)
    await _award(client, steward, wells["id"], lead, swarm["id"], 8_000)

    refused = await client.post(f"/v1/challenges/{cid}/complete", headers=steward.headers)
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_state")
    assert "awarded" in refused.json()["detail"]

    verifier = (await _verifiers(client, steward, wells["id"], 1))[0]
    claim_id = await _claim(client, lead, wells["id"], 100)
    await _ok(await _attest(client, verifier, claim_id, "approve", 100), 201)
    # 8,000 paid pro rata: 5,000 of the 10,000 pledge, 3,000 of the 6,000 one.
    done = await _ok(await client.post(f"/v1/challenges/{cid}/complete", headers=steward.headers))
    assert done["totals"]["returned"] == 3_000
    assert (done["totals"]["available"], done["totals"]["held"]) == (0, 0)
    assert await available(client, staying) == (50_000 - 6_000 + 3_000, 0)
    # The rolling funder's 5,000 left and 5,000 held are one new direct pledge onward.
    assert await available(client, rolling) == (50_000 - 10_000 - 5_000, 0)
    assert (await totals(client, onward["id"]))["available"] == 10_000
    await _verify_ok(client)


async def test_a_claim_made_in_time_waits_for_slow_verifiers_and_is_then_paid(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Defect 2: a claim with 1 of 2 approvals when the due date passes is not failed; the
    second approval, in the verification window, pays it."""
    challenge, steward = await open_challenge(client)
    backer = await funder(client, 10_000)
    await _ok(await pledge(client, backer, challenge["id"], amount=10_000), 201)
    wells = await milestone(client, challenge["id"], steward, due_at=future(1))
    swarm, (lead,) = await _swarm(client, 10_000)
    await _award(client, steward, wells["id"], lead, swarm["id"], 10_000)
    first, second = await _verifiers(client, steward, wells["id"], 2)
    claim_id = await _claim(client, lead, wells["id"], 100)
    await _ok(await _attest(client, first, claim_id, "approve", 100), 201)
    report = await due_work_at(database, datetime.now(UTC) + timedelta(days=2))
    assert report.processed["milestone_due_dates"] == 0
    assert (await _milestone_of(client, wells["id"]))["status"] == "claimed"
    claim = await _ok(await client.get(f"/v1/claims/{claim_id}", headers=steward.headers))
    assert datetime.fromisoformat(claim["verify_by"]) > datetime.fromisoformat(wells["due_at"])
    paid = await _ok(await _attest(client, second, claim_id, "approve", 100), 201)
    assert paid["claim_status"] == "verified"
    assert (await _milestone_of(client, wells["id"]))["payout"]["amount"] == 10_000


async def test_a_milestone_with_no_claim_by_its_due_date_still_fails(
    client: httpx.AsyncClient, database: Database
) -> None:
    challenge, steward = await open_challenge(client)
    backer = await funder(client, 10_000)
    await _ok(await pledge(client, backer, challenge["id"], amount=10_000), 201)
    wells = await milestone(client, challenge["id"], steward, due_at=future(1))
    swarm, (lead,) = await _swarm(client, 10_000)
    await _award(client, steward, wells["id"], lead, swarm["id"], 10_000)
    report = await due_work_at(database, datetime.now(UTC) + timedelta(days=2))
    assert report.processed["milestone_due_dates"] == 1
    assert (await _milestone_of(client, wells["id"]))["status"] == "failed"
    assert (await totals(client, challenge["id"]))["available"] == 10_000


async def test_past_verify_by_the_steward_replaces_verifiers_and_kept_votes_still_count(
    client: httpx.AsyncClient,
) -> None:
    challenge, steward = await open_challenge(client)
    backer = await funder(client, 10_000)
    await _ok(await pledge(client, backer, challenge["id"], amount=10_000), 201)
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    wells = await milestone(
        client, challenge["id"], steward, due_at=soon, verification_window_seconds=1
    )
    swarm, (lead,) = await _swarm(client, 10_000)
    await _award(client, steward, wells["id"], lead, swarm["id"], 10_000)
    kept, slow = await _verifiers(client, steward, wells["id"], 2)
    claim_id = await _claim(client, lead, wells["id"], 100)
    await _ok(await _attest(client, kept, claim_id, "approve", 80), 201)
    await asyncio.sleep(3.2)  # past the due date and its one-second window
    too_late = await _attest(client, slow, claim_id, "approve", 100)
    assert (too_late.status_code, too_late.json()["code"]) == (409, "invalid_state")
    fresh = await make_org(client, "verifier")
    await _ok(
        await client.put(
            f"/v1/milestones/{wells['id']}/verifiers",
            json={"org_ids": [kept.id, fresh.id]},
            headers=steward.headers,
        )
    )
    paid = await _ok(await _attest(client, fresh, claim_id, "approve", 100), 201)
    assert paid["claim_status"] == "verified"
    outcome = (await _milestone_of(client, wells["id"]))["payout"]
    assert (outcome["outcome_value"], outcome["amount"]) == ("90", 9_000)  # median of 80, 100


async def test_a_binary_outcome_below_target_is_not_achieved_and_returns_its_escrow(
    client: httpx.AsyncClient,
) -> None:
    """Defect 4: not `paid` with 0, but `not_achieved`, and re-tenderable in full."""
    challenge, steward = await open_challenge(client)
    backer = await funder(client, 10_000)
    await _ok(await pledge(client, backer, challenge["id"], amount=10_000), 201)
    quality = await milestone(
        client, challenge["id"], steward, payout_rule="binary", target=200, quorum=1
    )
    swarm, (lead,) = await _swarm(client, 10_000)
    await _award(client, steward, quality["id"], lead, swarm["id"], 6_000)
    (verifier,) = await _verifiers(client, steward, quality["id"], 1)
    claim_id = await _claim(client, lead, quality["id"], 190)
    await _ok(await _attest(client, verifier, claim_id, "approve", 190), 201)
    ended = await _milestone_of(client, quality["id"])
    assert (ended["status"], ended["payout"]) == ("not_achieved", None)
    assert ended["outcome"] == {"value": "190", "fraction": "0"}
    assert (await totals(client, challenge["id"]))["available"] == 10_000
    again = await _ok(
        await client.post(
            f"/v1/milestones/{quality['id']}/retender",
            json={"due_at": future(60)},
            headers=steward.headers,
        ),
        201,
    )
    assert (again["target"], again["budget_cap"]) == (200, quality["budget_cap"])
    events = (await client.get("/v1/events", headers=steward.headers)).json()["items"]
    assert {"milestone.not_achieved", "milestone.retendered"} <= {e["type"] for e in events}


async def test_failed_and_partly_paid_milestones_are_re_tendered_and_take_new_bids(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Defect 3; a milestone paid in full, or re-tendered once already, cannot be."""
    challenge, steward = await open_challenge(client)
    backer = await funder(client, 100_000)
    await _ok(await pledge(client, backer, challenge["id"], amount=100_000), 201)
    swarm, (lead,) = await _swarm(client, 10_000)
    late = await milestone(client, challenge["id"], steward, due_at=future(1))
    await _award(client, steward, late["id"], lead, swarm["id"], 5_000)
    await due_work_at(database, datetime.now(UTC) + timedelta(days=2))
    assert (await _milestone_of(client, late["id"]))["status"] == "failed"
    retendered = await _ok(
        await client.post(
            f"/v1/milestones/{late['id']}/retender",
            json={"due_at": future(30), "quorum": 1},
            headers=steward.headers,
        ),
        201,
    )
    assert (retendered["target"], retendered["budget_cap"]) == (late["target"], 10_000)
    await _award(client, steward, retendered["id"], lead, swarm["id"], 4_000)
    twice = await client.post(
        f"/v1/milestones/{late['id']}/retender",
        json={"due_at": future(30)},
        headers=steward.headers,
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_state")
    full = await milestone(client, challenge["id"], steward, quorum=1)
    await _award(client, steward, full["id"], lead, swarm["id"], 1_000)
    (verifier,) = await _verifiers(client, steward, full["id"], 1)
    claim_id = await _claim(client, lead, full["id"], 100)
    await _ok(await _attest(client, verifier, claim_id, "approve", 100), 201)
    whole = await client.post(
        f"/v1/milestones/{full['id']}/retender",
        json={"due_at": future(30)},
        headers=steward.headers,
    )
    assert (whole.status_code, whole.json()["code"]) == (409, "invalid_state")
    await _verify_ok(client)


async def test_nobody_verifies_work_they_run_fund_or_bid_for(client: httpx.AsyncClient) -> None:
    """Defect 6: the steward, a funder, or a member of a losing bidder's swarm may not
    verify; a verifier may not then fund the challenge or bid on its milestone."""
    steward = await make_org(client, "steward", "verifier")
    challenge, _ = await open_challenge(client, steward)
    backer = await make_org(client, "funder", "verifier")
    await client.post(
        f"/v1/orgs/{backer.id}/deposits",
        json={"amount": 10_000, "currency": "USD", "external_ref": f"c-{backer.id}"},
        headers=ADMIN,
    )
    await _ok(await pledge(client, backer, challenge["id"], amount=10_000), 201)
    wells = await milestone(client, challenge["id"], steward, quorum=1)
    loser = await make_org(client, "actor", "verifier")
    losing = await _ok(
        await client.post(
            "/v1/swarms",
            json={"name": "L", "members": [{"org_id": loser.id, "share_bps": 10_000}]},
            headers=loser.headers,
        ),
        201,
    )
    await _ok(
        await client.post(
            f"/v1/milestones/{wells['id']}/bids",
            json={"swarm_id": losing["id"], "amount": 9_000, "plan": "p"},
            headers=loser.headers,
        ),
        201,
    )
    swarm, (lead,) = await _swarm(client, 10_000)
    await _award(client, steward, wells["id"], lead, swarm["id"], 5_000)
    for conflicted in (steward, backer, loser):
        refused = await client.put(
            f"/v1/milestones/{wells['id']}/verifiers",
            json={"org_ids": [conflicted.id]},
            headers=steward.headers,
        )
        assert (refused.status_code, refused.json()["code"]) == (409, "conflict_of_interest")

    judge = await make_org(client, "verifier", "funder", "actor")
    await client.post(
        f"/v1/orgs/{judge.id}/deposits",
        json={"amount": 10, "currency": "USD", "external_ref": f"j-{judge.id}"},
        headers=ADMIN,
    )
    other = await milestone(client, challenge["id"], steward, quorum=1)
    await _ok(
        await client.put(
            f"/v1/milestones/{other['id']}/verifiers",
            json={"org_ids": [judge.id]},
            headers=steward.headers,
        )
    )
    funds = await pledge(client, judge, challenge["id"], amount=10)
    assert (funds.status_code, funds.json()["code"]) == (409, "conflict_of_interest")
    own = await _ok(
        await client.post(
            "/v1/swarms",
            json={"name": "J", "members": [{"org_id": judge.id, "share_bps": 10_000}]},
            headers=judge.headers,
        ),
        201,
    )
    bids = await client.post(
        f"/v1/milestones/{other['id']}/bids",
        json={"swarm_id": own["id"], "amount": 5, "plan": "p"},
        headers=judge.headers,
    )
    assert (bids.status_code, bids.json()["code"]) == (409, "conflict_of_interest")


async def test_a_pledge_earmarked_to_an_sdg_target_funds_only_milestones_tagged_with_it(
    client: httpx.AsyncClient,
) -> None:
    """Defect 7."""
    challenge, steward = await open_challenge(client, sdg_targets=["6.1", "6.2"])
    backer = await funder(client, 10_000)
    await _ok(
        await pledge(
            client, backer, challenge["id"], amount=10_000, earmark={"sdg_targets": ["6.2"]}
        ),
        201,
    )
    other_target = await milestone(client, challenge["id"], steward, sdg_targets=["6.1"])
    untagged = await milestone(client, challenge["id"], steward)
    tagged = await milestone(client, challenge["id"], steward, sdg_targets=["6.2"])
    swarm, (lead,) = await _swarm(client, 10_000)
    for refused in (other_target, untagged):
        bid = await _ok(
            await client.post(
                f"/v1/milestones/{refused['id']}/bids",
                json={"swarm_id": swarm["id"], "amount": 1_000, "plan": "p"},
                headers=lead.headers,
            ),
            201,
        )
        short = await client.post(f"/v1/bids/{bid['id']}/award", headers=steward.headers)
        assert (short.status_code, short.json()["code"]) == (409, "insufficient_funds")
    await _award(client, steward, tagged["id"], lead, swarm["id"], 1_000)
    assert (await totals(client, challenge["id"]))["allocated"] == 1_000
    outside = await client.post(
        f"/v1/challenges/{challenge['id']}/milestones",
        json={
            **{k: tagged[k] for k in ("title", "metric", "unit", "target", "payout_rule")},
            "budget_cap": 10,
            "quorum": 1,
            "due_at": future(30),
            "sdg_targets": ["3.9"],
        },
        headers=steward.headers,
    )
    assert (outside.status_code, outside.json()["code"]) == (422, "invalid_sdg_target")


async def test_a_threshold_counts_the_match_money_that_meeting_it_would_draw(
    client: httpx.AsyncClient,
) -> None:
    """Defect 8: 1,000,000 in the pool, then a 1:1 match capped at 2,000,000, then a
    4,000,000 pledge if the pool reaches 6,000,000: alone 5,000,000, with the match money
    it draws 7,000,000, so it is met (and the match draws 2,000,000 on it)."""
    challenge, _ = await open_challenge(client)
    cid = challenge["id"]
    other, sponsor, hopeful = (
        await funder(client, 10_000_000),
        await funder(client, 10_000_000),
        await funder(client, 10_000_000),
    )
    await _ok(await pledge(client, other, cid, amount=1_000_000), 201)
    match = await _ok(
        await pledge(client, sponsor, cid, kind="match", amount=2_000_000, match_ratio=1.0), 201
    )
    threshold = await _ok(
        await pledge(
            client,
            hopeful,
            cid,
            kind="threshold",
            amount=4_000_000,
            threshold_amount=6_000_000,
            deadline=future(10),
        ),
        201,
    )
    assert threshold["status"] == "active"
    assert (await read_pledge(client, match["id"]))["available"] == 2_000_000
    assert (await totals(client, cid))["available"] == 7_000_000


async def test_a_funders_match_never_draws_on_its_own_pledges(client: httpx.AsyncClient) -> None:
    """Defect 9."""
    challenge, _ = await open_challenge(client)
    sponsor, other = await funder(client, 100_000), await funder(client, 100_000)
    match = await _ok(
        await pledge(
            client, sponsor, challenge["id"], kind="match", amount=50_000, match_ratio=1.0
        ),
        201,
    )
    await _ok(await pledge(client, sponsor, challenge["id"], amount=10_000), 201)
    assert (await read_pledge(client, match["id"]))["available"] == 0
    await _ok(await pledge(client, other, challenge["id"], amount=7_000), 201)
    assert (await read_pledge(client, match["id"]))["available"] == 7_000


async def test_unknown_query_parameters_are_refused_and_q_searches(
    client: httpx.AsyncClient,
) -> None:
    """Defect 10: no silently ignored parameter; a threshold must exceed its own amount."""
    for path in ("/v1/challenges?satus=open", "/v1/public/stats?currency=USD"):
        refused = await client.get(path)
        assert refused.status_code == 422, path
        assert refused.json()["errors"][0]["loc"][0] == "query"
    steward = await make_org(client, "steward")
    await open_challenge(client, steward, title="Boreholes in Turkana", description="wells")
    await open_challenge(client, steward, title="Latrines", description="Sanitation in Kibera")
    found = await _ok(await client.get("/v1/challenges?q=kibera"))
    assert [c["title"] for c in found["items"]] == ["Latrines"]
    assert (await _ok(await client.get("/v1/challenges?q=turkana%20wells")))["items"][0][
        "title"
    ] == "Boreholes in Turkana"
    assert (await _ok(await client.get("/v1/challenges?q=100%25")))["items"] == []
    challenge, _ = await open_challenge(client)
    backer = await funder(client, 1_000)
    alone = await pledge(
        client,
        backer,
        challenge["id"],
        kind="threshold",
        amount=500,
        threshold_amount=500,
        deadline=future(5),
    )
    assert (alone.status_code, alone.json()["code"]) == (422, "invalid_pledge_terms")
