"""The board-report scenario of issue 19, built through the public API: two funders pledge
300,000 and 200,000, a swarm is awarded 400,000 for 200 units and 150 are verified, so the
milestone pays 300,000 (A's share 180,000, B's 120,000)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.factories import OrgHandle, make_org
from tests.support.market import funder, future, open_challenge, pledge


@dataclass(frozen=True)
class Paid:
    challenge: dict[str, Any]
    milestone: dict[str, Any]
    steward: OrgHandle
    funder_a: OrgHandle
    funder_b: OrgHandle
    lead: OrgHandle
    claim_id: str


async def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def awarded(
    client: httpx.AsyncClient, *, anonymous_b: bool = False
) -> tuple[dict[str, Any], dict[str, Any], OrgHandle, OrgHandle, OrgHandle, OrgHandle]:
    """A challenge with both pledges and the 400,000 award in escrow, before any claim."""
    challenge, steward = await open_challenge(client)
    milestone = await _ok(
        await client.post(
            f"/v1/challenges/{challenge['id']}/milestones",
            json={
                "title": "Household water filters",
                "metric": "households with safe water",
                "unit": "households",
                "target": 200,
                "payout_rule": "pro_rata",
                "budget_cap": 400_000,
                "quorum": 1,
                "due_at": future(60),
            },
            headers=steward.headers,
        )
    )
    funder_a, funder_b = await funder(client, 300_000), await funder(client, 200_000)
    await _ok(await pledge(client, funder_a, challenge["id"], amount=300_000))
    await _ok(
        await pledge(client, funder_b, challenge["id"], amount=200_000, anonymous=anonymous_b)
    )
    lead = await make_org(client, "actor")
    swarm = await _ok(
        await client.post(
            "/v1/swarms",
            json={"name": "FilterWorks", "members": [{"org_id": lead.id, "share_bps": 10_000}]},
            headers=lead.headers,
        )
    )
    offer = await _ok(
        await client.post(
            f"/v1/milestones/{milestone['id']}/bids",
            json={"swarm_id": swarm["id"], "amount": 400_000, "plan": "200 filters"},
            headers=lead.headers,
        )
    )
    await _ok(await client.post(f"/v1/bids/{offer['id']}/award", headers=steward.headers), 200)
    return challenge, milestone, steward, funder_a, funder_b, lead


async def paid_milestone(client: httpx.AsyncClient, *, anonymous_b: bool = False) -> Paid:
    """The scenario through to the payout: 150 of 200 verified by one verifier."""
    challenge, milestone, steward, funder_a, funder_b, lead = await awarded(
        client, anonymous_b=anonymous_b
    )
    verifier = await make_org(client, "verifier")
    await _ok(
        await client.put(
            f"/v1/milestones/{milestone['id']}/verifiers",
            json={"org_ids": [verifier.id]},
            headers=steward.headers,
        ),
        200,
    )
    claim = await _ok(
        await client.post(
            f"/v1/milestones/{milestone['id']}/claims",
            json={"reported_value": 150, "evidence": [{"uri": "https://evidence.example/a"}]},
            headers=lead.headers,
        )
    )
    await _ok(
        await client.post(
            f"/v1/claims/{claim['id']}/attestations",
            json={"verdict": "approve", "value": 150},
            headers=verifier.headers,
        )
    )
    return Paid(challenge, milestone, steward, funder_a, funder_b, lead, claim["id"])
