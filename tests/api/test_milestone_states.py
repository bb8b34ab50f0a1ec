"""A milestone moves only as its one transition table allows: every (state, action) pair
that HTTP can try is tried, and each one the table forbids is a 409 invalid_state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.db import Database
from app.domain.delivery.milestones import MILESTONE_TRANSITIONS
from tests.api.test_delivery import milestone
from tests.support.factories import OrgHandle, make_org
from tests.support.market import due_work_at, funder, future, open_challenge, pledge

STATES = ["open", "awarded", "claimed", "paid", "not_achieved", "failed", "cancelled"]
ACTIONS = ["award", "claim", "retender"]  # the transitions HTTP drives directly


@dataclass
class Stage:
    milestone_id: str
    bid_id: str
    steward: OrgHandle
    lead: OrgHandle


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, object]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _in_state(client: httpx.AsyncClient, database: Database, state: str) -> Stage:
    """A milestone brought to `state` through the API, with a bid submitted while it was
    open (awarded, if the state is past the award)."""
    challenge, steward = await open_challenge(client)
    backer = await funder(client, 10_000)
    await _ok(await pledge(client, backer, challenge["id"], amount=10_000), 201)
    binary = state == "not_achieved"
    made = await milestone(
        client,
        challenge["id"],
        steward,
        quorum=1,
        payout_rule="binary" if binary else "pro_rata",
        due_at=future(1),
    )
    lead = await make_org(client, "actor")
    swarm = await _ok(
        await client.post(
            "/v1/swarms",
            json={"name": "S", "members": [{"org_id": lead.id, "share_bps": 10_000}]},
            headers=lead.headers,
        ),
        201,
    )
    bid = await _ok(
        await client.post(
            f"/v1/milestones/{made['id']}/bids",
            json={"swarm_id": swarm["id"], "amount": 5_000, "plan": "p"},
            headers=lead.headers,
        ),
        201,
    )
    stage = Stage(str(made["id"]), str(bid["id"]), steward, lead)
    if state == "cancelled":
        await _ok(
            await client.post(f"/v1/challenges/{challenge['id']}/cancel", headers=steward.headers)
        )
    if state in ("open", "cancelled"):
        return stage
    await _ok(await client.post(f"/v1/bids/{bid['id']}/award", headers=steward.headers))
    verifier = await make_org(client, "verifier")
    await _ok(
        await client.put(
            f"/v1/milestones/{made['id']}/verifiers",
            json={"org_ids": [verifier.id]},
            headers=steward.headers,
        )
    )
    if state == "failed":
        await due_work_at(database, datetime.now(UTC) + timedelta(days=2))
    if state in ("awarded", "failed"):
        return stage
    claim = await _ok(
        await client.post(
            f"/v1/milestones/{made['id']}/claims",
            json={"reported_value": 50, "evidence": [{"uri": "https://e.example/r"}]},
            headers=lead.headers,
        ),
        201,
    )
    if state == "claimed":
        return stage
    await _ok(
        await client.post(
            f"/v1/claims/{claim['id']}/attestations",
            json={"verdict": "approve", "value": 50},  # half of 100: paid in part, or not met
            headers=verifier.headers,
        ),
        201,
    )
    return stage


async def _try(client: httpx.AsyncClient, stage: Stage, action: str) -> httpx.Response:
    if action == "award":
        return await client.post(f"/v1/bids/{stage.bid_id}/award", headers=stage.steward.headers)
    if action == "claim":
        return await client.post(
            f"/v1/milestones/{stage.milestone_id}/claims",
            json={"reported_value": 1, "evidence": [{"uri": "https://e.example/r"}]},
            headers=stage.lead.headers,
        )
    return await client.post(
        f"/v1/milestones/{stage.milestone_id}/retender",
        json={"due_at": future(30)},
        headers=stage.steward.headers,
    )


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
async def test_every_milestone_transition_follows_the_table(
    client: httpx.AsyncClient, database: Database, state: str, action: str
) -> None:
    stage = await _in_state(client, database, state)
    current = (await _ok(await client.get(f"/v1/milestones/{stage.milestone_id}")))["status"]
    assert current == state
    response = await _try(client, stage, action)
    if state in MILESTONE_TRANSITIONS[action]:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "invalid_state"
