"""Disputes over HTTP: a verified claim waits out its challenge's dispute window, a funder
disputes it, a panel revises it, and the payout, its splits and the return are exact; an
undisputed claim is paid by due work when its window closes, exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    # Three seconds later, due work (three runs at once, on the real clock) pays it once.
    await asyncio.sleep(max(0.0, (quick_pays_at - datetime.now(UTC)).total_seconds()) + 0.1)
    reports = await asyncio.gather(*(run_due_work(database) for _ in range(3)))
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


async def _dispute(client: httpx.AsyncClient, world: Verified, opener: OrgHandle) -> str:
    opened = await _ok(
        await client.post(
            f"/v1/claims/{world.claim_id}/disputes",
            json={"reason": "Dry boreholes counted."},
            headers=opener.headers,
        ),
        201,
    )
    return str(opened["id"])


async def _panel(client: httpx.AsyncClient, world: Verified, dispute_id: str) -> list[OrgHandle]:
    panel = await panel_of_three(client)
    await _ok(
        await client.put(
            f"/v1/disputes/{dispute_id}/panel",
            json={"org_ids": [p.id for p in panel]},
            headers=world.steward.headers,
        )
    )
    return panel


async def _panel_says(
    client: httpx.AsyncClient, dispute_id: str, member: OrgHandle, verdict: str, value: int | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"verdict": verdict}
    if value is not None:
        body["value"] = value
    return await _ok(
        await client.post(
            f"/v1/disputes/{dispute_id}/attestations", json=body, headers=member.headers
        ),
        201,
    )


async def test_a_rejecting_panel_leaves_the_milestone_not_achieved_and_returns_the_escrow(
    client: httpx.AsyncClient,
) -> None:
    world = await verified(client, 3_600)
    dispute_id = await _dispute(client, world, world.steward)
    panel = await _panel(client, world, dispute_id)
    await _panel_says(client, dispute_id, panel[0], "reject", None)
    await _panel_says(client, dispute_id, panel[1], "approve", 150)
    assert (await milestone_of(client, world.milestone_id))["status"] == "disputed"
    decided = await _panel_says(client, dispute_id, panel[2], "reject", None)
    assert decided["dispute_status"] == "rejected"
    ended = await milestone_of(client, world.milestone_id)
    assert (ended["status"], ended["payout"]) == ("not_achieved", None)
    back = await _ok(await client.get(f"/v1/pledges/{world.pledge_id}", headers=ADMIN))
    assert (back["available"], back["allocated"], back["paid"]) == (400_000, 0, 0)
    claim = await _ok(await client.get(f"/v1/claims/{world.claim_id}", headers=ADMIN))
    assert claim["status"] == "rejected"
    assert await available(client, world.lead) == (0, 0)
    assert (await totals_of(client, world))["allocated"] == 0


async def totals_of(client: httpx.AsyncClient, world: Verified) -> dict[str, int]:
    challenge = await _ok(await client.get(f"/v1/challenges/{world.challenge['id']}"))
    return dict(challenge["totals"])


async def test_a_panel_that_agrees_with_the_verifiers_upholds_the_claim(
    client: httpx.AsyncClient,
) -> None:
    world = await verified(client, 3_600)
    dispute_id = await _dispute(client, world, world.verifiers[0])
    panel = await _panel(client, world, dispute_id)
    await _panel_says(client, dispute_id, panel[0], "approve", 190)
    decided = await _panel_says(client, dispute_id, panel[2], "approve", 210)
    assert decided["dispute_status"] == "upheld"
    paid = await milestone_of(client, world.milestone_id)
    assert (paid["status"], paid["payout"]["amount"]) == ("paid", 400_000)
    assert await available(client, world.lead) == (240_000, 0)


async def test_who_may_dispute_and_when(client: httpx.AsyncClient) -> None:
    world = await verified(client, 3_600)
    path = f"/v1/claims/{world.claim_id}/disputes"
    stranger = await make_org(client, "funder", "verifier", "steward")
    refused = {
        "swarm's lead": (world.lead, 403),
        "stranger": (stranger, 404),
    }
    for who, (org, status) in refused.items():
        response = await client.post(path, json={"reason": "r"}, headers=org.headers)
        assert response.status_code == status, (who, response.text)
    admin = await client.post(path, json={"reason": "r"}, headers=ADMIN)
    assert admin.status_code == 403, admin.text
    for body in ({"reason": ""}, {}, {"reason": "r", "amount": 1}, {"reason": "x" * 5_001}):
        bad = await client.post(path, json=body, headers=world.funder.headers)
        assert bad.status_code == 422, bad.text
        assert bad.headers["content-type"] == "application/problem+json"
    headers = {**world.funder.headers, "Idempotency-Key": "dispute-1"}
    first = await client.post(path, json={"reason": "r"}, headers=headers)
    replay = await client.post(path, json={"reason": "r"}, headers=headers)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert first.json() == replay.json()
    again = await client.post(path, json={"reason": "again"}, headers=world.steward.headers)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "invalid_state"
    completing = await client.post(
        f"/v1/challenges/{world.challenge['id']}/complete", headers=world.steward.headers
    )
    assert completing.status_code == 409, completing.text
    assert completing.json()["code"] == "invalid_state"


async def test_completing_waits_for_a_milestone_in_its_dispute_window(
    client: httpx.AsyncClient,
) -> None:
    world = await verified(client, 3_600)
    completing = await client.post(
        f"/v1/challenges/{world.challenge['id']}/complete", headers=world.steward.headers
    )
    assert completing.status_code == 409, completing.text
    assert completing.json()["code"] == "invalid_state"
    assert "payout_pending" in completing.json()["detail"]


async def test_panel_rules_and_panel_verdicts(client: httpx.AsyncClient) -> None:
    world = await verified(client, 3_600)
    dispute_id = await _dispute(client, world, world.funder)
    path = f"/v1/disputes/{dispute_id}/panel"
    fresh = await panel_of_three(client)
    actor = await make_org(client, "actor")
    cases = {
        "two members": ([fresh[0].id, fresh[1].id], 422, "too_few_panelists"),
        "the same member thrice": ([fresh[0].id] * 3, 422, "too_few_panelists"),
        "a claim's verifier": (
            [fresh[0].id, fresh[1].id, world.verifiers[0].id],
            409,
            "conflict_of_interest",
        ),
        "not a verifier": ([fresh[0].id, fresh[1].id, actor.id], 422, "not_a_verifier"),
    }
    for name, (org_ids, status, code) in cases.items():
        response = await client.put(path, json={"org_ids": org_ids}, headers=world.steward.headers)
        assert response.status_code == status, (name, response.text)
        assert response.json()["code"] == code, name
    by_verifier = await client.put(
        path, json={"org_ids": [f.id for f in fresh]}, headers=world.verifiers[0].headers
    )
    assert by_verifier.status_code == 403, by_verifier.text
    unchanged = await _ok(await client.get(f"/v1/disputes/{dispute_id}", headers=ADMIN))
    assert unchanged["panel_org_ids"] == []
    panel = await _panel(client, world, dispute_id)
    votes = f"/v1/disputes/{dispute_id}/attestations"
    outsider = await client.post(
        votes, json={"verdict": "reject"}, headers=world.verifiers[0].headers
    )
    assert outsider.status_code == 404, outsider.text
    valueless = await client.post(votes, json={"verdict": "approve"}, headers=panel[0].headers)
    assert valueless.status_code == 422, valueless.text
    assert valueless.json()["code"] == "value_required"
    await _panel_says(client, dispute_id, panel[0], "reject", None)
    twice = await client.post(votes, json={"verdict": "reject"}, headers=panel[0].headers)
    assert twice.status_code == 409, twice.text
    assert twice.json()["code"] == "already_attested"
    # Replacing a silent member: the kept member's vote still counts.
    replacement = await make_org(client, "verifier")
    await _ok(
        await client.put(
            path,
            json={"org_ids": [panel[0].id, panel[1].id, replacement.id]},
            headers=world.steward.headers,
        )
    )
    decided = await _panel_says(client, dispute_id, replacement, "reject", None)
    assert decided["dispute_status"] == "rejected"
    seen = await _ok(await client.get(f"/v1/disputes/{dispute_id}", headers=replacement.headers))
    assert [a["counted"] for a in seen["attestations"]] == [True, True]
    closed = await client.put(
        path, json={"org_ids": [f.id for f in fresh]}, headers=world.steward.headers
    )
    assert closed.status_code == 409, closed.text


async def test_cancelling_a_challenge_with_a_disputed_milestone_returns_every_cent(
    client: httpx.AsyncClient,
) -> None:
    world = await verified(client, 3_600)
    dispute_id = await _dispute(client, world, world.funder)
    cancelled = await client.post(
        f"/v1/challenges/{world.challenge['id']}/cancel", headers=world.steward.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (await milestone_of(client, world.milestone_id))["status"] == "failed"
    assert await available(client, world.funder) == (1_000_000, 0)
    dispute = await _ok(await client.get(f"/v1/disputes/{dispute_id}", headers=ADMIN))
    assert dispute["status"] == "cancelled"


async def test_a_milestone_waiting_or_disputed_refuses_what_its_table_forbids(
    client: httpx.AsyncClient,
) -> None:
    world = await verified(client, 3_600)
    fresh = [await make_org(client, "verifier") for _ in range(2)]
    attempts = {
        "claim": lambda: client.post(
            f"/v1/milestones/{world.milestone_id}/claims",
            json={"reported_value": 1, "evidence": [{"uri": "https://e.example/r"}]},
            headers=world.lead.headers,
        ),
        "retender": lambda: client.post(
            f"/v1/milestones/{world.milestone_id}/retender",
            json={"due_at": future(90)},
            headers=world.steward.headers,
        ),
        "assign verifiers": lambda: client.put(
            f"/v1/milestones/{world.milestone_id}/verifiers",
            json={"org_ids": [v.id for v in fresh]},
            headers=world.steward.headers,
        ),
    }
    for state in ("payout_pending", "disputed"):
        if state == "disputed":
            await _dispute(client, world, world.funder)
        assert (await milestone_of(client, world.milestone_id))["status"] == state
        for name, attempt in attempts.items():
            response = await attempt()
            assert response.status_code == 409, (state, name, response.text)
            assert response.json()["code"] == "invalid_state", (state, name)
