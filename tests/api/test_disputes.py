"""Disputes over HTTP: a verified claim waits out its challenge's dispute window, a funder
disputes it, a panel revises it, and the payout, its splits and the return are exact; an
undisputed claim is paid by due work when its window closes, exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from app.db import Database
from app.domain.due_work import run_due_work
from tests.support.factories import ADMIN, OrgHandle, make_org
from tests.support.market import available, due_work_at, funder, future, open_challenge, pledge


@dataclass
class Verified:
    """A milestone awarded 400,000 to a 60/40 swarm, claimed and verified at 200 of 200."""

    challenge: dict[str, Any]
    steward: OrgHandle
    funder: OrgHandle
    pledge_id: str
    milestone_id: str
    claim_id: str
    lead: OrgHandle
    partner: OrgHandle
    verifiers: list[OrgHandle]


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def swarm_of_two(client: httpx.AsyncClient) -> tuple[OrgHandle, OrgHandle, str]:
    lead, partner = await make_org(client, "actor"), await make_org(client, "actor")
    members = [{"org_id": lead.id, "share_bps": 6_000}, {"org_id": partner.id, "share_bps": 4_000}]
    swarm = await _ok(
        await client.post(
            "/v1/swarms", json={"name": "Wells", "members": members}, headers=lead.headers
        ),
        201,
    )
    await _ok(await client.post(f"/v1/swarms/{swarm['id']}/accept", headers=partner.headers))
    return lead, partner, swarm["id"]


async def verified(
    client: httpx.AsyncClient, window_seconds: int, *, award: int = 400_000
) -> Verified:
    challenge, steward = await open_challenge(client, dispute_window_seconds=window_seconds)
    backer = await funder(client, 1_000_000)
    made = await _ok(await pledge(client, backer, challenge["id"], amount=award), 201)
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
            },
            headers=steward.headers,
        ),
        201,
    )
    lead, partner, swarm_id = await swarm_of_two(client)
    bid = await _ok(
        await client.post(
            f"/v1/milestones/{milestone['id']}/bids",
            json={"swarm_id": swarm_id, "amount": award, "plan": "Drill"},
            headers=lead.headers,
        ),
        201,
    )
    await _ok(await client.post(f"/v1/bids/{bid['id']}/award", headers=steward.headers))
    verifiers = [await make_org(client, "verifier") for _ in range(2)]
    await _ok(
        await client.put(
            f"/v1/milestones/{milestone['id']}/verifiers",
            json={"org_ids": [v.id for v in verifiers]},
            headers=steward.headers,
        )
    )
    claim = await _ok(
        await client.post(
            f"/v1/milestones/{milestone['id']}/claims",
            json={"reported_value": 200, "evidence": [{"uri": "https://e.example/survey"}]},
            headers=lead.headers,
        ),
        201,
    )
    for verifier in verifiers:
        await _ok(
            await client.post(
                f"/v1/claims/{claim['id']}/attestations",
                json={"verdict": "approve", "value": 200},
                headers=verifier.headers,
            ),
            201,
        )
    return Verified(
        challenge,
        steward,
        backer,
        made["id"],
        milestone["id"],
        claim["id"],
        lead,
        partner,
        verifiers,
    )


async def milestone_of(client: httpx.AsyncClient, milestone_id: str) -> dict[str, Any]:
    return await _ok(await client.get(f"/v1/milestones/{milestone_id}"))


async def panel_of_three(client: httpx.AsyncClient) -> list[OrgHandle]:
    return [await make_org(client, "verifier") for _ in range(3)]


async def test_a_disputed_claim_is_revised_by_its_panel_and_paid_exactly(
    client: httpx.AsyncClient, database: Database
) -> None:
    world = await verified(client, 3_600)
    milestone = await milestone_of(client, world.milestone_id)
    assert milestone["status"] == "payout_pending"
    assert milestone["payout"] is None
    pays_at = datetime.fromisoformat(milestone["pays_at"])
    claim = await _ok(await client.get(f"/v1/claims/{world.claim_id}", headers=ADMIN))
    assert claim["status"] == "verified"
    assert await available(client, world.lead) == (0, 0)

    dispute = await _ok(
        await client.post(
            f"/v1/claims/{world.claim_id}/disputes",
            json={"reason": "The survey counted dry boreholes."},
            headers=world.funder.headers,
        ),
        201,
    )
    assert dispute["status"] == "open"
    assert dispute["opened_by_org_id"] == world.funder.id
    assert dispute["panel_org_ids"] == []
    assert (await milestone_of(client, world.milestone_id))["status"] == "disputed"
    # Disputed: due work past pays_at pays nothing.
    await due_work_at(database, pays_at + timedelta(seconds=1))
    assert (await milestone_of(client, world.milestone_id))["status"] == "disputed"
    assert await available(client, world.lead) == (0, 0)

    panel = await panel_of_three(client)
    appointed = await _ok(
        await client.put(
            f"/v1/disputes/{dispute['id']}/panel",
            json={"org_ids": [p.id for p in panel]},
            headers=world.steward.headers,
        )
    )
    assert appointed["panel_org_ids"] == [p.id for p in panel]
    first = await _ok(
        await client.post(
            f"/v1/disputes/{dispute['id']}/attestations",
            json={"verdict": "approve", "value": 100},
            headers=panel[0].headers,
        ),
        201,
    )
    assert first["dispute_status"] == "open"
    second = await _ok(
        await client.post(
            f"/v1/disputes/{dispute['id']}/attestations",
            json={"verdict": "approve", "value": 120, "note": "resurveyed"},
            headers=panel[1].headers,
        ),
        201,
    )
    assert second["dispute_status"] == "revised"

    paid = await milestone_of(client, world.milestone_id)
    assert paid["status"] == "paid"
    assert paid["payout"]["amount"] == 220_000
    assert paid["payout"]["outcome_value"] == "110"
    assert {s["org_id"]: s["amount"] for s in paid["payout"]["splits"]} == {
        world.lead.id: 132_000,
        world.partner.id: 88_000,
    }
    assert await available(client, world.lead) == (132_000, 0)
    assert await available(client, world.partner) == (88_000, 0)
    back = await _ok(await client.get(f"/v1/pledges/{world.pledge_id}", headers=ADMIN))
    assert (back["available"], back["allocated"], back["paid"]) == (180_000, 0, 220_000)
    resolved = await _ok(
        await client.get(f"/v1/disputes/{dispute['id']}", headers=world.funder.headers)
    )
    assert resolved["status"] == "revised"
    assert resolved["outcome_value"] == "110"
    assert [a["value"] for a in resolved["attestations"]] == [100, 120]
    # Decided: the third member's verdict is refused, and nothing pays twice.
    late = await client.post(
        f"/v1/disputes/{dispute['id']}/attestations",
        json={"verdict": "reject"},
        headers=panel[2].headers,
    )
    assert late.status_code == 409, late.text
    assert late.json()["code"] == "invalid_state"
    await due_work_at(database, pays_at + timedelta(seconds=2))
    assert await available(client, world.lead) == (132_000, 0)
    events = await _ok(await client.get("/v1/events", headers=world.funder.headers))
    types = [e["type"] for e in events["items"]]
    assert {"claim.disputed", "dispute.panel_assigned", "dispute.resolved"} <= set(types)
    assert "payout.made" in types

    # Then an undisputed claim on a 3 s window is paid by due work after it, once.
    quick = await verified(client, 3)
    waiting = await milestone_of(client, quick.milestone_id)
    assert waiting["status"] == "payout_pending"
    quick_pays_at = datetime.fromisoformat(waiting["pays_at"])
    await due_work_at(database, quick_pays_at - timedelta(seconds=1))
    assert (await milestone_of(client, quick.milestone_id))["status"] == "payout_pending"
    reports = await asyncio.gather(*(run_due_work(database, now=quick_pays_at) for _ in range(3)))
    assert sum(r.processed["dispute_windows"] for r in reports) == 1
    done = await milestone_of(client, quick.milestone_id)
    assert done["status"] == "paid"
    assert done["payout"]["amount"] == 400_000
    assert await available(client, quick.lead) == (240_000, 0)
    assert await available(client, quick.partner) == (160_000, 0)
    too_late = await client.post(
        f"/v1/claims/{quick.claim_id}/disputes",
        json={"reason": "late"},
        headers=quick.funder.headers,
    )
    assert too_late.status_code == 409, too_late.text
