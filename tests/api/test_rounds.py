"""Matching rounds through HTTP: create, the live projection, close by the sponsor or by due
work, and every refusal (a quadratic-funding pool divided exactly, API.md "Matching rounds")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.db import Database
from tests.support.factories import ADMIN, OrgHandle, make_org
from tests.support.market import available, due_work_at, funder, open_challenge, pledge, totals
from tests.support.statements import recorded_statements


def _at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _round(
    client: httpx.AsyncClient,
    sponsor: OrgHandle,
    challenge_ids: list[str] | None = None,
    **fields: Any,
) -> httpx.Response:
    body: dict[str, Any] = {
        "name": "Water matching round",
        "currency": "USD",
        "matching_pool": 100_000,
        "challenge_ids": challenge_ids,
        "starts_at": _at(-1),
        "ends_at": _at(7),
        "floor_bps": 2_000,
    }
    body.update(fields)
    return await client.post("/v1/rounds", json=body, headers=sponsor.headers)


def _ok(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _issue_example(client: httpx.AsyncClient) -> dict[str, Any]:
    """A 100,000 round with a 20% floor over A (four funders x 2,500) and B (one x 10,000)."""
    sponsor = await funder(client, 150_000)
    a, steward_a = await open_challenge(client, title="A")
    b, _steward_b = await open_challenge(client, title="B")
    made = _ok(await _round(client, sponsor, [a["id"], b["id"]]))
    for _ in range(4):
        _ok(await pledge(client, await funder(client, 2_500), a["id"], amount=2_500))
    _ok(await pledge(client, await funder(client, 10_000), b["id"], amount=10_000))
    return {"sponsor": sponsor, "a": a, "b": b, "round": made, "steward_a": steward_a}


def _by_challenge(round_: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["challenge_id"]: c for c in round_["challenges"]}


async def test_creating_a_round_moves_the_pool_from_the_sponsor_wallet(
    client: httpx.AsyncClient,
) -> None:
    sponsor = await funder(client, 150_000)
    a, _ = await open_challenge(client)
    made = _ok(await _round(client, sponsor, [a["id"]]))
    assert made["status"] == "open"
    assert made["matching_pool"] == 100_000
    assert made["floor_bps"] == 2_000
    assert made["sponsor_org_id"] == sponsor.id
    assert made["challenges"] == [
        {
            "challenge_id": a["id"],
            "title": a["title"],
            "contributors": 0,
            "contributed": 0,
            "projected_match": 0,
            "matched": None,
            "pledge_id": None,
        }
    ]
    assert made["projected_return"] == 100_000
    assert await available(client, sponsor) == (50_000, 0)


async def test_the_issue_example_projects_then_closes_90_000_and_10_000(
    client: httpx.AsyncClient,
) -> None:
    world = await _issue_example(client)
    round_id, a_id, b_id = world["round"]["id"], world["a"]["id"], world["b"]["id"]
    live = _ok(await client.get(f"/v1/rounds/{round_id}"), 200)
    shown = _by_challenge(live)
    assert (shown[a_id]["contributors"], shown[a_id]["contributed"]) == (4, 10_000)
    assert (shown[b_id]["contributors"], shown[b_id]["contributed"]) == (1, 10_000)
    assert shown[a_id]["projected_match"] == 90_000
    assert shown[b_id]["projected_match"] == 10_000
    assert live["projected_return"] == 0

    closed = _ok(
        await client.post(f"/v1/rounds/{round_id}/close", headers=world["sponsor"].headers), 200
    )
    assert closed["status"] == "closed"
    assert closed["closed_at"] is not None
    final = _by_challenge(closed)
    assert (final[a_id]["matched"], final[b_id]["matched"]) == (90_000, 10_000)
    assert await totals(client, a_id) == {**await totals(client, a_id), "available": 100_000}
    assert (await totals(client, b_id))["available"] == 20_000
    match = await client.get(f"/v1/pledges/{final[a_id]['pledge_id']}", headers=ADMIN)
    assert _ok(match, 200)["funder_org_id"] == world["sponsor"].id
    assert match.json()["kind"] == "direct"
    assert match.json()["amount"] == 90_000
    assert await available(client, world["sponsor"]) == (50_000, 0)
    assert _ok(await client.get(f"/v1/rounds/{round_id}"), 200) == closed


async def test_due_work_closes_a_round_at_its_end_exactly_once(
    client: httpx.AsyncClient, database: Database
) -> None:
    world = await _issue_example(client)
    round_id = world["round"]["id"]
    early = await due_work_at(database, datetime.now(UTC) + timedelta(days=6))
    assert early.processed["round_closes"] == 0
    later = datetime.now(UTC) + timedelta(days=8)
    assert (await due_work_at(database, later)).processed["round_closes"] == 1
    assert (await due_work_at(database, later)).processed["round_closes"] == 0
    closed = _ok(await client.get(f"/v1/rounds/{round_id}"), 200)
    assert closed["status"] == "closed"
    assert [c["matched"] for c in closed["challenges"]] == [90_000, 10_000]
    again = await client.post(f"/v1/rounds/{round_id}/close", headers=world["sponsor"].headers)
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_state"


async def test_pledges_outside_the_window_and_of_other_kinds_do_not_count(
    client: httpx.AsyncClient,
) -> None:
    sponsor = await funder(client, 100_000)
    a, _ = await open_challenge(client)
    before = await funder(client, 10_000)
    _ok(await pledge(client, before, a["id"], amount=1_000))
    made = _ok(await _round(client, sponsor, [a["id"]], starts_at=_at(0.0001)))
    held = await funder(client, 10_000)
    _ok(
        await pledge(
            client,
            held,
            a["id"],
            amount=500,
            kind="threshold",
            threshold_amount=10**9,
            deadline=_at(3),
        )
    )
    shown = _ok(await client.get(f"/v1/rounds/{made['id']}"), 200)
    assert shown["challenges"][0]["contributors"] == 0


async def test_a_round_with_no_contribution_returns_the_whole_pool(
    client: httpx.AsyncClient,
) -> None:
    sponsor = await funder(client, 100_000)
    a, _ = await open_challenge(client)
    made = _ok(await _round(client, sponsor, [a["id"]]))
    closed = _ok(await client.post(f"/v1/rounds/{made['id']}/close", headers=sponsor.headers), 200)
    assert closed["projected_return"] == 100_000
    assert closed["challenges"][0]["matched"] == 0
    assert closed["challenges"][0]["pledge_id"] is None
    assert await available(client, sponsor) == (100_000, 0)


async def test_the_share_of_a_challenge_no_longer_open_returns_to_the_sponsor(
    client: httpx.AsyncClient,
) -> None:
    world = await _issue_example(client)
    a_id = world["a"]["id"]
    # Closed: its pledges keep their money (so still count) but it takes no new pledge.
    ended = await client.post(f"/v1/challenges/{a_id}/close", headers=world["steward_a"].headers)
    assert ended.status_code == 200, ended.text
    shown = _by_challenge(_ok(await client.get(f"/v1/rounds/{world['round']['id']}"), 200))
    assert shown[a_id]["projected_match"] == 0
    closed = _ok(
        await client.post(
            f"/v1/rounds/{world['round']['id']}/close", headers=world["sponsor"].headers
        ),
        200,
    )
    assert closed["projected_return"] == 90_000
    assert _by_challenge(closed)[a_id]["pledge_id"] is None
    assert await available(client, world["sponsor"]) == (50_000 + 90_000, 0)


async def test_a_round_match_draws_the_challenge_match_pledges(
    client: httpx.AsyncClient,
) -> None:
    """The sponsor's pledge is new money like any direct pledge: a 1:1 match draws on it."""
    sponsor = await funder(client, 100_000)
    a, _ = await open_challenge(client)
    matcher = await funder(client, 50_000)
    _ok(await pledge(client, matcher, a["id"], amount=50_000, kind="match", match_ratio="1.0"))
    made = _ok(await _round(client, sponsor, [a["id"]], matching_pool=1_000, floor_bps=0))
    _ok(await pledge(client, await funder(client, 100), a["id"], amount=100))
    _ok(await client.post(f"/v1/rounds/{made['id']}/close", headers=sponsor.headers), 200)
    # 100 contributed (+100 drawn) and the single contributor's round share 1,000 (+1,000).
    assert (await totals(client, a["id"]))["available"] == 2_200


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ends_at": "2030-01-01T00:00:00Z", "starts_at": "2030-01-02T00:00:00Z"}, "after"),
        ({"ends_at": "2020-01-01T00:00:00Z", "starts_at": "2019-01-01T00:00:00Z"}, "future"),
    ],
)
async def test_a_window_that_ends_before_it_starts_or_in_the_past_is_422(
    client: httpx.AsyncClient, fields: dict[str, str], message: str
) -> None:
    sponsor = await funder(client, 100_000)
    a, _ = await open_challenge(client)
    refused = await _round(client, sponsor, [a["id"]], **fields)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "invalid_round"
    assert message in refused.json()["detail"]
    assert await available(client, sponsor) == (100_000, 0)


async def test_challenges_of_another_currency_unknown_duplicate_or_ended_are_422(
    client: httpx.AsyncClient,
) -> None:
    sponsor = await funder(client, 100_000)
    usd, _steward = await open_challenge(client)
    kes, _ = await open_challenge(client, currency="KES")
    done, done_steward = await open_challenge(client)
    _ok(
        await client.post(f"/v1/challenges/{done['id']}/complete", headers=done_steward.headers),
        200,
    )
    unknown = "00000000-0000-4000-8000-000000000000"
    cases = {
        "is in KES; this round matches in USD": [usd["id"], kes["id"]],
        "does not exist": [unknown],
        "is listed twice": [usd["id"], usd["id"]],
        "is completed": [done["id"]],
    }
    for message, ids in cases.items():
        refused = await _round(client, sponsor, ids)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "invalid_round"
        assert message in refused.json()["detail"]
    assert await available(client, sponsor) == (100_000, 0)


async def test_a_pool_beyond_the_wallet_is_409_and_moves_nothing(
    client: httpx.AsyncClient,
) -> None:
    sponsor = await funder(client, 99_999)
    a, _ = await open_challenge(client)
    refused = await _round(client, sponsor, [a["id"]])
    assert refused.status_code == 409
    assert refused.json()["code"] == "insufficient_funds"
    assert await available(client, sponsor) == (99_999, 0)


@pytest.mark.parametrize(
    "fields",
    [
        {"floor_bps": 10_001},
        {"floor_bps": -1},
        {"matching_pool": 0},
        {"challenge_ids": []},
        {"ends_at": "2030-01-01T00:00:00"},
        {"currency": "usd"},
        {"surprise": 1},
    ],
)
async def test_malformed_round_bodies_are_422(
    client: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    sponsor = await funder(client, 100_000)
    a, _ = await open_challenge(client)
    refused = await _round(client, sponsor, **{"challenge_ids": [a["id"]], **fields})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"


async def test_only_the_sponsor_closes_a_round_and_an_unknown_round_is_404(
    client: httpx.AsyncClient,
) -> None:
    sponsor = await funder(client, 100_000)
    a, _ = await open_challenge(client)
    made = _ok(await _round(client, sponsor, [a["id"]]))
    other = await make_org(client, "funder")
    refused = await client.post(f"/v1/rounds/{made['id']}/close", headers=other.headers)
    assert refused.status_code == 403
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"/v1/rounds/{missing}")).status_code == 404
    gone = await client.post(f"/v1/rounds/{missing}/close", headers=sponsor.headers)
    assert gone.status_code == 404


async def test_round_events_are_public(client: httpx.AsyncClient) -> None:
    world = await _issue_example(client)
    sponsor = world["sponsor"]
    _ok(await client.post(f"/v1/rounds/{world['round']['id']}/close", headers=sponsor.headers), 200)
    types = [
        e["type"] for e in (await client.get("/v1/events", headers=sponsor.headers)).json()["items"]
    ]
    assert "round.created" in types
    assert "round.closed" in types


async def test_the_public_read_is_two_queries_open_and_one_closed(
    client: httpx.AsyncClient, database: Database
) -> None:
    world = await _issue_example(client)
    path = f"/v1/rounds/{world['round']['id']}"
    with recorded_statements(database.engine) as sent:
        assert (await client.get(path)).status_code == 200
    assert len(sent) == 2, sent
    closing = await client.post(f"{path}/close", headers=world["sponsor"].headers)
    assert closing.status_code == 200
    with recorded_statements(database.engine) as sent:
        assert (await client.get(path)).status_code == 200
    assert len(sent) == 1, sent


async def test_a_replayed_round_moves_the_pool_once_and_the_statement_names_it(
    client: httpx.AsyncClient,
) -> None:
    sponsor = await funder(client, 150_000)
    a, _ = await open_challenge(client)
    body = {
        "name": "Replayed",
        "currency": "USD",
        "matching_pool": 100_000,
        "challenge_ids": [a["id"]],
        "starts_at": _at(-1),
        "ends_at": _at(7),
    }
    headers = {**sponsor.headers, "Idempotency-Key": "round-once"}
    first = await client.post("/v1/rounds", json=body, headers=headers)
    again = await client.post("/v1/rounds", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await available(client, sponsor) == (50_000, 0)
    _ok(await pledge(client, await funder(client, 100), a["id"], amount=100))
    round_id = first.json()["id"]
    _ok(await client.post(f"/v1/rounds/{round_id}/close", headers=sponsor.headers), 200)
    lines = (await client.get(f"/v1/orgs/{sponsor.id}/statement", headers=sponsor.headers)).json()
    items = lines["items"] if isinstance(lines, dict) else lines
    moves = [(line["kind"], line["amount"]) for line in items if line["kind"].startswith("round")]
    assert moves == [("round_fund", -100_000)]


async def _verifying_sponsor(client: httpx.AsyncClient) -> tuple[OrgHandle, dict[str, Any], Any]:
    """A sponsor that also verifies; a challenge with a milestone; its steward."""
    sponsor = await make_org(client, "funder", "verifier")
    deposit = await client.post(
        f"/v1/orgs/{sponsor.id}/deposits",
        json={"amount": 100_000, "currency": "USD", "external_ref": f"seed-{sponsor.id}"},
        headers=ADMIN,
    )
    assert deposit.status_code == 201, deposit.text
    challenge, steward = await open_challenge(client)
    milestone = await client.post(
        f"/v1/challenges/{challenge['id']}/milestones",
        json={
            "title": "Wells",
            "metric": "wells",
            "unit": "wells",
            "target": 5,
            "payout_rule": "pro_rata",
            "budget_cap": 1_000,
            "quorum": 1,
            "due_at": _at(60),
        },
        headers=steward.headers,
    )
    return sponsor, challenge, (steward, _ok(milestone)["id"])


async def _assign(
    client: httpx.AsyncClient, steward: OrgHandle, milestone_id: str, org: str
) -> None:
    assigned = await client.put(
        f"/v1/milestones/{milestone_id}/verifiers", json={"org_ids": [org]}, headers=steward.headers
    )
    assert assigned.status_code == 200, assigned.text


async def test_a_sponsor_verifying_a_listed_challenge_is_409_conflict_of_interest(
    client: httpx.AsyncClient,
) -> None:
    sponsor, challenge, (steward, milestone_id) = await _verifying_sponsor(client)
    await _assign(client, steward, milestone_id, sponsor.id)
    refused = await _round(client, sponsor, [challenge["id"]])
    assert refused.status_code == 409
    assert refused.json()["code"] == "conflict_of_interest"
    assert await available(client, sponsor) == (100_000, 0)


async def test_the_share_of_a_challenge_the_sponsor_came_to_verify_returns(
    client: httpx.AsyncClient,
) -> None:
    sponsor, challenge, (steward, milestone_id) = await _verifying_sponsor(client)
    made = _ok(await _round(client, sponsor, [challenge["id"]]))
    _ok(await pledge(client, await funder(client, 100), challenge["id"], amount=100))
    await _assign(client, steward, milestone_id, sponsor.id)
    closed = _ok(await client.post(f"/v1/rounds/{made['id']}/close", headers=sponsor.headers), 200)
    assert closed["challenges"][0]["matched"] == 0
    assert closed["projected_return"] == 100_000
    assert await available(client, sponsor) == (100_000, 0)
