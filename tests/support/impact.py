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
    client: httpx.AsyncClient,
    *,
    anonymous_b: bool = False,
    pledges: tuple[int, int] = (300_000, 200_000),
    award: int = 400_000,
    target: int = 200,
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
                "target": target,
                "payout_rule": "pro_rata",
                "budget_cap": award,
                "quorum": 1,
                "due_at": future(60),
            },
            headers=steward.headers,
        )
    )
    funder_a, funder_b = await funder(client, pledges[0]), await funder(client, pledges[1])
    await _ok(await pledge(client, funder_a, challenge["id"], amount=pledges[0]))
    await _ok(
        await pledge(client, funder_b, challenge["id"], amount=pledges[1], anonymous=anonymous_b)
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
            json={"swarm_id": swarm["id"], "amount": award, "plan": "200 filters"},
            headers=lead.headers,
        )
    )
    await _ok(await client.post(f"/v1/bids/{offer['id']}/award", headers=steward.headers), 200)
    return challenge, milestone, steward, funder_a, funder_b, lead


async def paid_milestone(client: httpx.AsyncClient, *, value: int = 150, **scenario: Any) -> Paid:
    """The scenario through to the payout: 150 of 200 verified by one verifier."""
    challenge, milestone, steward, funder_a, funder_b, lead = await awarded(client, **scenario)
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
            json={"reported_value": value, "evidence": [{"uri": "https://evidence.example/a"}]},
            headers=lead.headers,
        )
    )
    await _ok(
        await client.post(
            f"/v1/claims/{claim['id']}/attestations",
            json={"verdict": "approve", "value": value},
            headers=verifier.headers,
        )
    )
    return Paid(challenge, milestone, steward, funder_a, funder_b, lead, claim["id"])
