"""Challenges and milestones: creation, the state machine, public reads and filters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.domain.challenges.rules import CHALLENGE_TRANSITIONS
from tests.support.factories import ADMIN, make_org
from tests.support.market import future, open_challenge

STATES = ["draft", "open", "closed", "completed", "cancelled"]
ACTIONS = sorted(CHALLENGE_TRANSITIONS)  # open, close, complete, cancel


async def test_steward_creates_a_draft_and_the_public_reads_it(client: httpx.AsyncClient) -> None:
    steward = await make_org(client, "steward")
    response = await client.post(
        "/v1/challenges",
        json={
            "title": "Water",
            "description": "Clean water",
            "currency": "KES",
            "sdg_targets": ["6.1", "6.b", "6.1"],
            "region": "KE-30",
            "closes_at": future(),
        },
        headers=steward.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["steward_org_id"], body["sdg_targets"]) == (
        "draft",
        steward.id,
        ["6.1", "6.b"],
    )
    assert body["totals"] == {"held": 0, "available": 0, "allocated": 0, "paid": 0, "returned": 0}
    assert (await client.get(f"/v1/challenges/{body['id']}")).json() == body


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"sdg_targets": ["6.9"]}, 422, "invalid_sdg_target"),
        ({"sdg_targets": []}, 422, "validation_error"),
        ({"sdg_targets": ["six"]}, 422, "validation_error"),
        ({"region": "ZZ"}, 422, "invalid_region"),
        ({"region": "kenya"}, 422, "validation_error"),
        ({"currency": "XAU"}, 422, "unsupported_currency"),
        ({"closes_at": "2001-01-01T00:00:00Z"}, 422, "invalid_closes_at"),
        ({"closes_at": "2031-01-01T00:00:00"}, 422, "validation_error"),
        ({"status": "open"}, 422, "validation_error"),
        ({"steward_org_id": "00000000-0000-4000-8000-000000000000"}, 422, "validation_error"),
    ],
)
async def test_invalid_challenges_are_refused(
    client: httpx.AsyncClient, change: dict[str, Any], status: int, code: str
) -> None:
    steward = await make_org(client, "steward")
    body = {"title": "T", "currency": "USD", "sdg_targets": ["6.1"], **change}
    response = await client.post("/v1/challenges", json=body, headers=steward.headers)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def _challenge_in(client: httpx.AsyncClient, state: str) -> tuple[str, dict[str, str]]:
    steward = await make_org(client, "steward")
    created = await client.post(
        "/v1/challenges",
        json={"title": "T", "currency": "USD", "sdg_targets": ["6.1"]},
        headers=steward.headers,
    )
    challenge_id = created.json()["id"]
    path = {
        "draft": [],
        "open": ["open"],
        "closed": ["open", "close"],
        "completed": ["open", "complete"],
        "cancelled": ["cancel"],
    }
    for action in path[state]:
        assert (
            await client.post(f"/v1/challenges/{challenge_id}/{action}", headers=steward.headers)
        ).status_code == 200
    return challenge_id, steward.headers


@pytest.mark.parametrize("state", ["draft", "open", "closed", "completed", "cancelled"])
@pytest.mark.parametrize("action", ACTIONS)
async def test_every_transition_follows_the_table(
    client: httpx.AsyncClient, state: str, action: str
) -> None:
    challenge_id, headers = await _challenge_in(client, state)
    response = await client.post(f"/v1/challenges/{challenge_id}/{action}", headers=headers)
    expected = CHALLENGE_TRANSITIONS[action].get(state)
    if expected is None:
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_state"
        assert state in response.json()["detail"]
    else:
        assert response.status_code == 200
        assert response.json()["status"] == expected


async def test_only_its_steward_or_the_admin_runs_a_challenge(client: httpx.AsyncClient) -> None:
    challenge, _ = await open_challenge(client)
    other_steward = await make_org(client, "steward")
    funder = await make_org(client, "funder")
    for headers, status in ((other_steward.headers, 403), (funder.headers, 403), ({}, 401)):
        response = await client.post(f"/v1/challenges/{challenge['id']}/close", headers=headers)
        assert response.status_code == status
    assert (
        await client.post(f"/v1/challenges/{challenge['id']}/close", headers=ADMIN)
    ).status_code == 200


async def test_lists_filter_by_status_goal_target_and_region_and_page(
    client: httpx.AsyncClient,
) -> None:
    steward = await make_org(client, "steward")
    made = []
    for targets, region in ((["6.1"], "KE"), (["6.2", "3.9"], "KE-30"), (["7.1"], "UG")):
        response = await client.post(
            "/v1/challenges",
            json={"title": "T", "currency": "USD", "sdg_targets": targets, "region": region},
            headers=steward.headers,
        )
        made.append(response.json()["id"])
    await client.post(f"/v1/challenges/{made[0]}/open", headers=steward.headers)

    async def ids(query: str) -> list[str]:
        response = await client.get(f"/v1/challenges?{query}")
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids("status=open") == [made[0]]
    assert await ids("sdg=6") == [made[1], made[0]]
    assert await ids("sdg=3.9") == [made[1]]
    assert await ids("region=KE") == [made[1], made[0]]
    assert await ids("region=KE-30") == [made[1]]
    first = (await client.get("/v1/challenges?limit=2")).json()
    second = (await client.get(f"/v1/challenges?limit=2&cursor={first['next_cursor']}")).json()
    assert [i["id"] for i in first["items"] + second["items"]] == made[::-1]
    assert second["next_cursor"] is None
    for bad in ("status=done", "sdg=6.", "region=ke", "limit=0", "limit=201", "cursor=%25%25"):
        assert (await client.get(f"/v1/challenges?{bad}")).status_code == 422, bad


async def test_milestones_are_added_by_the_steward_and_read_by_anyone(
    client: httpx.AsyncClient,
) -> None:
    challenge, steward = await open_challenge(client)
    body = {
        "title": "Wells",
        "metric": "working wells",
        "unit": "wells",
        "target": 40,
        "payout_rule": "binary",
        "budget_cap": 500_000,
        "quorum": 2,
        "due_at": future(60),
    }
    created = await client.post(
        f"/v1/challenges/{challenge['id']}/milestones", json=body, headers=steward.headers
    )
    assert created.status_code == 201, created.text
    milestone = created.json()
    assert (milestone["status"], milestone["verifier_org_ids"], milestone["payout"]) == (
        "open",
        [],
        None,
    )
    assert (await client.get(f"/v1/milestones/{milestone['id']}")).json() == milestone
    listed = await client.get(f"/v1/challenges/{challenge['id']}/milestones")
    assert listed.json() == [milestone]
    other = await make_org(client, "steward")
    forbidden = await client.post(
        f"/v1/challenges/{challenge['id']}/milestones", json=body, headers=other.headers
    )
    assert forbidden.status_code == 403
    for change in (
        {"target": 0},
        {"quorum": 0},
        {"payout_rule": "sometimes"},
        {"budget_cap": 10**15},
        {"due_at": "2001-01-01T00:00:00Z"},
        {"target": 1.5},
    ):
        response = await client.post(
            f"/v1/challenges/{challenge['id']}/milestones",
            json={**body, **change},
            headers=steward.headers,
        )
        assert response.status_code == 422, change
    await client.post(f"/v1/challenges/{challenge['id']}/cancel", headers=steward.headers)
    late = await client.post(
        f"/v1/challenges/{challenge['id']}/milestones", json=body, headers=steward.headers
    )
    assert late.status_code == 409


async def test_unknown_challenges_and_milestones_are_404(client: httpx.AsyncClient) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"/v1/challenges/{unknown}")).status_code == 404
    assert (await client.get(f"/v1/milestones/{unknown}")).status_code == 404
    assert (await client.get(f"/v1/challenges/{unknown}/milestones")).status_code == 404
    assert (await client.get("/v1/challenges/not-a-uuid")).status_code == 422
