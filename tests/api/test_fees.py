"""Verifier fees over HTTP: escrowed from the milestone's pledges when verifiers are
assigned, paid to each verifier that attests (any verdict), the rest returned when the
milestone ends; short pools refuse the assignment and change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.api.test_disputes import swarm_of_two
from tests.support.factories import ADMIN, OrgHandle, make_org
from tests.support.market import available, funder, future, open_challenge, pledge, totals


@dataclass
class Funded:
    challenge_id: str
    steward: OrgHandle
    backer: OrgHandle
    pledge_id: str
    milestone_id: str
    lead: OrgHandle
    verifiers: list[OrgHandle]


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def awarded(
    client: httpx.AsyncClient, *, pledged: int = 500_000, award: int = 400_000, fee: int = 5_000
) -> Funded:
    challenge, steward = await open_challenge(client)
    backer = await funder(client, pledged)
    made = await _ok(await pledge(client, backer, challenge["id"], amount=pledged), 201)
    milestone = await _ok(
        await client.post(
            f"/v1/challenges/{challenge['id']}/milestones",
            json={
                "title": "Boreholes",
                "metric": "working boreholes",
                "unit": "boreholes",
                "target": 200,
                "payout_rule": "pro_rata",
                "budget_cap": award,
                "quorum": 2,
                "due_at": future(60),
                "verifier_fee": fee,
            },
            headers=steward.headers,
        ),
        201,
    )
    assert milestone["verifier_fee"] == fee
    lead, _, swarm_id = await swarm_of_two(client)
    bid = await _ok(
        await client.post(
            f"/v1/milestones/{milestone['id']}/bids",
            json={"swarm_id": swarm_id, "amount": award, "plan": "Drill"},
            headers=lead.headers,
        ),
        201,
    )
    await _ok(await client.post(f"/v1/bids/{bid['id']}/award", headers=steward.headers))
    verifiers = [await make_org(client, "verifier") for _ in range(3)]
    return Funded(challenge["id"], steward, backer, made["id"], milestone["id"], lead, verifiers)


async def assign(
    client: httpx.AsyncClient, world: Funded, verifiers: list[OrgHandle]
) -> httpx.Response:
    return await client.put(
        f"/v1/milestones/{world.milestone_id}/verifiers",
        json={"org_ids": [v.id for v in verifiers]},
        headers=world.steward.headers,
    )


async def claim(client: httpx.AsyncClient, world: Funded) -> str:
    made = await _ok(
        await client.post(
            f"/v1/milestones/{world.milestone_id}/claims",
            json={"reported_value": 200, "evidence": [{"uri": "https://e.example/survey"}]},
            headers=world.lead.headers,
        ),
        201,
    )
    return str(made["id"])


async def attest(
    client: httpx.AsyncClient, verifier: OrgHandle, claim_id: str, verdict: str
) -> dict[str, Any]:
    body: dict[str, Any] = {"verdict": verdict}
    if verdict == "approve":
        body["value"] = 200
    return await _ok(
        await client.post(
            f"/v1/claims/{claim_id}/attestations", json=body, headers=verifier.headers
        ),
        201,
    )


async def pledge_money(client: httpx.AsyncClient, pledge_id: str) -> tuple[int, int, int]:
    found = await _ok(await client.get(f"/v1/pledges/{pledge_id}", headers=ADMIN))
    return found["available"], found["allocated"], found["paid"]


async def test_each_verifier_that_attests_is_paid_its_fee_whatever_its_verdict(
    client: httpx.AsyncClient,
) -> None:
    world = await awarded(client)
    assert (await totals(client, world.challenge_id))["available"] == 100_000
    await _ok(await assign(client, world, world.verifiers))
    shown = await totals(client, world.challenge_id)
    assert (shown["available"], shown["allocated"]) == (85_000, 415_000)
    claim_id = await claim(client, world)
    first = await attest(client, world.verifiers[0], claim_id, "approve")
    assert first["claim_status"] == "submitted"
    assert await available(client, world.verifiers[0]) == (5_000, 0)
    await attest(client, world.verifiers[1], claim_id, "reject")
    assert await available(client, world.verifiers[1]) == (5_000, 0)
    decided = await attest(client, world.verifiers[2], claim_id, "approve")
    assert decided["claim_status"] == "verified"
    for verifier in world.verifiers:
        assert await available(client, verifier) == (5_000, 0)
    paid = await _ok(await client.get(f"/v1/milestones/{world.milestone_id}"))
    assert (paid["status"], paid["payout"]["amount"]) == ("paid", 400_000)
    shown = await totals(client, world.challenge_id)
    assert (shown["available"], shown["allocated"], shown["paid"]) == (85_000, 0, 400_000)
    stats = await _ok(await client.get("/v1/public/stats"))
    assert stats["totals"][0]["fees"] == 15_000
    flows = await _ok(await client.get(f"/v1/public/flows?challenge_id={world.challenge_id}"))
    kinds = {node["id"]: node["kind"] for node in flows["nodes"]}
    fees = {
        link["target"]: link["amount"]
        for link in flows["links"]
        if kinds.get(link["target"]) == "verifier"
    }
    assert sorted(fees.values()) == [5_000, 5_000, 5_000]
    assert all(
        link["source"] == f"milestone:{world.milestone_id}"
        for link in flows["links"]
        if link["target"] in fees
    )
    events = await _ok(await client.get("/v1/events", headers=world.verifiers[1].headers))
    assert "fee.paid" in [event["type"] for event in events["items"]]


async def test_fees_of_verifiers_that_never_attested_return_to_the_pledge(
    client: httpx.AsyncClient,
) -> None:
    world = await awarded(client)
    await _ok(await assign(client, world, world.verifiers))
    claim_id = await claim(client, world)
    await attest(client, world.verifiers[0], claim_id, "approve")
    await attest(client, world.verifiers[1], claim_id, "approve")
    assert await available(client, world.verifiers[2]) == (0, 0)
    assert await pledge_money(client, world.pledge_id) == (90_000, 0, 400_000)
    late = await attest(client, world.verifiers[2], claim_id, "reject")
    assert late["counted"] is False
    assert await available(client, world.verifiers[2]) == (0, 0)  # the fees were settled


async def test_a_short_pool_refuses_the_verifiers_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    world = await awarded(client, pledged=410_000, fee=5_000)
    refused = await assign(client, world, world.verifiers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "insufficient_funds"
    milestone = await _ok(await client.get(f"/v1/milestones/{world.milestone_id}"))
    assert milestone["verifier_org_ids"] == []
    assert await pledge_money(client, world.pledge_id) == (10_000, 400_000, 0)
    await _ok(await assign(client, world, world.verifiers[:2]))
    # The pledge's allocated money counts the award and the two fees in escrow.
    assert await pledge_money(client, world.pledge_id) == (0, 410_000, 0)


async def test_replacing_a_silent_verifier_moves_its_fee_to_its_replacement(
    client: httpx.AsyncClient,
) -> None:
    world = await awarded(client)
    await _ok(await assign(client, world, world.verifiers))
    claim_id = await claim(client, world)
    await attest(client, world.verifiers[0], claim_id, "approve")
    newcomer = await make_org(client, "verifier")
    await _ok(await assign(client, world, [world.verifiers[0], world.verifiers[1], newcomer]))
    # Two unpaid verifiers are assigned: the 10,000 left waits for them (the replaced one's
    # fee is now the newcomer's); the first was paid 5,000.
    shown = await totals(client, world.challenge_id)
    assert (shown["available"], shown["allocated"]) == (85_000, 410_000)
    decided = await attest(client, newcomer, claim_id, "approve")
    assert decided["claim_status"] == "verified"
    assert await available(client, newcomer) == (5_000, 0)
    assert await available(client, world.verifiers[2]) == (0, 0)
    assert await pledge_money(client, world.pledge_id) == (90_000, 0, 400_000)


async def test_cancelling_returns_the_fee_escrow_of_an_unawarded_milestone(
    client: httpx.AsyncClient,
) -> None:
    challenge, steward = await open_challenge(client)
    backer = await funder(client, 50_000)
    await _ok(await pledge(client, backer, challenge["id"], amount=50_000), 201)
    milestone = await _ok(
        await client.post(
            f"/v1/challenges/{challenge['id']}/milestones",
            json={
                "title": "Survey",
                "metric": "m",
                "unit": "u",
                "target": 1,
                "payout_rule": "binary",
                "budget_cap": 10_000,
                "quorum": 1,
                "due_at": future(60),
                "verifier_fee": 1_000,
            },
            headers=steward.headers,
        ),
        201,
    )
    verifier = await make_org(client, "verifier")
    await _ok(
        await client.put(
            f"/v1/milestones/{milestone['id']}/verifiers",
            json={"org_ids": [verifier.id]},
            headers=steward.headers,
        )
    )
    assert (await totals(client, challenge["id"]))["allocated"] == 1_000
    await _ok(
        await client.post(f"/v1/challenges/{challenge['id']}/cancel", headers=steward.headers)
    )
    assert await available(client, backer) == (50_000, 0)


async def test_a_negative_or_fractional_fee_is_refused(client: httpx.AsyncClient) -> None:
    challenge, steward = await open_challenge(client)
    for fee in (-1, 1.5, "5", 10**15):
        response = await client.post(
            f"/v1/challenges/{challenge['id']}/milestones",
            json={
                "title": "T",
                "metric": "m",
                "unit": "u",
                "target": 1,
                "payout_rule": "binary",
                "budget_cap": 10,
                "quorum": 1,
                "due_at": future(60),
                "verifier_fee": fee,
            },
            headers=steward.headers,
        )
        assert response.status_code == 422, (fee, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_dispute_panel_is_paid_the_verifier_fee_from_the_same_pool(
    client: httpx.AsyncClient,
) -> None:
    """The decision: panel members are paid like verifiers, escrowed at appointment."""
    challenge, steward = await open_challenge(client, dispute_window_seconds=3_600)
    backer = await funder(client, 500_000)
    await _ok(await pledge(client, backer, challenge["id"], amount=500_000), 201)
    milestone = await _ok(
        await client.post(
            f"/v1/challenges/{challenge['id']}/milestones",
            json={
                "title": "Boreholes",
                "metric": "m",
                "unit": "u",
                "target": 200,
                "payout_rule": "pro_rata",
                "budget_cap": 400_000,
                "quorum": 2,
                "due_at": future(60),
                "verifier_fee": 5_000,
            },
            headers=steward.headers,
        ),
        201,
    )
    lead, _, swarm_id = await swarm_of_two(client)
    funded = Funded(challenge["id"], steward, backer, "", milestone["id"], lead, [])
    bid = await _ok(
        await client.post(
            f"/v1/milestones/{milestone['id']}/bids",
            json={"swarm_id": swarm_id, "amount": 400_000, "plan": "Drill"},
            headers=lead.headers,
        ),
        201,
    )
    await _ok(await client.post(f"/v1/bids/{bid['id']}/award", headers=steward.headers))
    verifiers = [await make_org(client, "verifier") for _ in range(2)]
    await _ok(await assign(client, funded, verifiers))
    claim_id = await claim(client, funded)
    for verifier in verifiers:
        await attest(client, verifier, claim_id, "approve")
    dispute = await _ok(
        await client.post(
            f"/v1/claims/{claim_id}/disputes", json={"reason": "r"}, headers=backer.headers
        ),
        201,
    )
    panel = [await make_org(client, "verifier") for _ in range(3)]
    await _ok(
        await client.put(
            f"/v1/disputes/{dispute['id']}/panel",
            json={"org_ids": [p.id for p in panel]},
            headers=steward.headers,
        )
    )
    shown = await totals(client, challenge["id"])
    assert (shown["available"], shown["allocated"]) == (100_000 - 10_000 - 15_000, 415_000)
    for member in panel[:2]:
        await _ok(
            await client.post(
                f"/v1/disputes/{dispute['id']}/attestations",
                json={"verdict": "reject"},
                headers=member.headers,
            ),
            201,
        )
        assert await available(client, member) == (5_000, 0)
    assert await available(client, panel[2]) == (0, 0)
    shown = await totals(client, challenge["id"])
    # Rejected: the award and the silent member's fee are back in the pool.
    assert (shown["available"], shown["allocated"], shown["paid"]) == (480_000, 0, 0)


async def test_the_host_fee_and_verifier_fees_of_the_issue(client: httpx.AsyncClient) -> None:
    """host_fee_bps 200 and verifier_fee 5,000: a 500,000 pledge leaves 490,000 available and
    10,000 with the host; three verifiers assigned escrow 15,000; each of the three that
    attests (approve, reject, approve) gets 5,000."""
    host = await make_org(client, "steward")
    challenge, steward = await open_challenge(client, host_fee_bps=200, host_org_id=host.id)
    assert (challenge["host_fee_bps"], challenge["host_org_id"]) == (200, host.id)
    backer = await funder(client, 500_000)
    made = await _ok(await pledge(client, backer, challenge["id"], amount=500_000), 201)
    assert (made["available"], made["fees"]) == (490_000, 10_000)
    assert await available(client, host) == (10_000, 0)
    read = await _ok(await client.get(f"/v1/pledges/{made['id']}", headers=ADMIN))
    assert (read["available"], read["fees"]) == (490_000, 10_000)
    assert (await totals(client, challenge["id"]))["available"] == 490_000
    milestone = await _ok(
        await client.post(
            f"/v1/challenges/{challenge['id']}/milestones",
            json={
                "title": "Boreholes",
                "metric": "m",
                "unit": "u",
                "target": 200,
                "payout_rule": "pro_rata",
                "budget_cap": 400_000,
                "quorum": 2,
                "due_at": future(60),
                "verifier_fee": 5_000,
            },
            headers=steward.headers,
        ),
        201,
    )
    lead, _, swarm_id = await swarm_of_two(client)
    world = Funded(challenge["id"], steward, backer, made["id"], milestone["id"], lead, [])
    world.verifiers = [await make_org(client, "verifier") for _ in range(3)]
    await _ok(await assign(client, world, world.verifiers))
    assert (await totals(client, challenge["id"]))["allocated"] == 15_000
    bid = await _ok(
        await client.post(
            f"/v1/milestones/{milestone['id']}/bids",
            json={"swarm_id": swarm_id, "amount": 400_000, "plan": "Drill"},
            headers=lead.headers,
        ),
        201,
    )
    await _ok(await client.post(f"/v1/bids/{bid['id']}/award", headers=steward.headers))
    claim_id = await claim(client, world)
    for verifier, verdict in zip(world.verifiers, ("approve", "reject", "approve"), strict=True):
        await attest(client, verifier, claim_id, verdict)
        assert await available(client, verifier) == (5_000, 0)
    after = await _ok(await client.get(f"/v1/pledges/{made['id']}", headers=ADMIN))
    assert (after["available"], after["allocated"], after["paid"]) == (75_000, 0, 400_000)
    assert after["fees"] == 10_000 + 15_000
    stats = await _ok(await client.get("/v1/public/stats"))
    assert stats["totals"][0]["fees"] == 25_000
    flows = await _ok(await client.get(f"/v1/public/flows?challenge_id={challenge['id']}"))
    kinds = {node["id"]: node["kind"] for node in flows["nodes"]}
    assert [kinds[i] for i in kinds if kinds[i] in ("host", "verifier")].count("verifier") == 3
    to_host = [link for link in flows["links"] if kinds[link["target"]] == "host"]
    assert [(link["source"], link["amount"]) for link in to_host] == [
        (f"challenge:{challenge['id']}", 10_000)
    ]
    page = await client.get(f"/challenges/{challenge['id']}")
    assert page.status_code == 200
    assert "Paid to verifiers" in page.text
    assert "Host fees" in page.text


async def test_thresholds_and_match_draws_pay_the_host_as_their_money_commits(
    client: httpx.AsyncClient,
) -> None:
    challenge, steward = await open_challenge(client, host_fee_bps=150)
    a, b, c = [await funder(client, 100_000) for _ in range(3)]
    match = await _ok(
        await pledge(client, a, challenge["id"], amount=10_000, kind="match", match_ratio=1),
        201,
    )
    assert (match["held"], match["fees"]) == (10_000, 0)
    threshold = await _ok(
        await pledge(
            client,
            b,
            challenge["id"],
            amount=20_000,
            kind="threshold",
            threshold_amount=30_001,
            deadline=future(10),
        ),
        201,
    )
    assert threshold["fees"] == 0
    direct = await _ok(await pledge(client, c, challenge["id"], amount=1_001), 201)
    assert (direct["available"], direct["fees"]) == (986, 15)  # floor(1,001 x 1.5%)
    drawn = await _ok(await client.get(f"/v1/pledges/{match['id']}", headers=ADMIN))
    met = await _ok(await client.get(f"/v1/pledges/{threshold['id']}", headers=ADMIN))
    assert met["status"] == "active"
    assert (met["available"], met["fees"]) == (20_000 - 300, 300)
    # The match drew 1,001 on the direct pledge, then its last 8,999 on the met threshold:
    # each draw pays its own fee, floor(1,001 x 1.5%) + floor(8,999 x 1.5%) = 15 + 134.
    assert (drawn["held"], drawn["available"], drawn["fees"]) == (0, 10_000 - 149, 149)
    assert await available(client, steward) == (15 + 300 + 149, 0)


async def test_a_host_fee_out_of_range_or_an_unknown_host_is_refused(
    client: httpx.AsyncClient,
) -> None:
    steward = await make_org(client, "steward")
    body = {"title": "T", "currency": "USD", "sdg_targets": ["6.1"]}
    for extra in ({"host_fee_bps": 2_001}, {"host_fee_bps": -1}, {"host_org_id": "x"}):
        response = await client.post("/v1/challenges", json=body | extra, headers=steward.headers)
        assert response.status_code == 422, (extra, response.text)
    unknown = await client.post(
        "/v1/challenges",
        json=body | {"host_org_id": "00000000-0000-4000-8000-000000000000"},
        headers=steward.headers,
    )
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["code"] == "unknown_host_org"
