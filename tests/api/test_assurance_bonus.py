"""The assurance bonus over HTTP: a missed threshold pays its funder the bonus besides its
money, and what remains returns to the sponsor when the challenge ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.db import Database
from tests.support.factories import ADMIN, make_org
from tests.support.market import available, due_work_at, funder, future, open_challenge, pledge


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _verify_ok(client: httpx.AsyncClient) -> None:
    report = _ok(await client.get("/v1/ledger/verify", headers=ADMIN))
    assert report["ok"], report["violations"]


async def _offer(client: httpx.AsyncClient, challenge_id: str, sponsor: Any, **body: Any) -> Any:
    return await client.post(
        f"/v1/challenges/{challenge_id}/assurance-bonus", json=body, headers=sponsor.headers
    )


async def _threshold(client: httpx.AsyncClient, org: Any, challenge_id: str, amount: int) -> Any:
    return _ok(
        await pledge(
            client,
            org,
            challenge_id,
            kind="threshold",
            amount=amount,
            threshold_amount=10**9,
            deadline=future(1),
        ),
        201,
    )


async def _bonuses(client: httpx.AsyncClient, challenge_id: str) -> list[dict[str, Any]]:
    listed = _ok(await client.get(f"/v1/challenges/{challenge_id}/assurance-bonus"))
    return list(listed["items"])


async def test_missed_thresholds_get_7500_and_2500_and_cancelling_returns_90000(
    client: httpx.AsyncClient, database: Database
) -> None:
    challenge, steward = await open_challenge(client)
    sponsor = await funder(client, 100_000)
    first, second = await funder(client, 300_000), await funder(client, 100_000)
    offered = _ok(
        await _offer(client, challenge["id"], sponsor, amount=100_000, bonus_bps=250), 201
    )
    assert offered["sponsor_org_id"] == sponsor.id
    assert (offered["amount"], offered["bonus_bps"], offered["remaining"]) == (
        100_000,
        250,
        100_000,
    )
    assert await available(client, sponsor) == (0, 0)
    await _threshold(client, first, challenge["id"], 300_000)
    await _threshold(client, second, challenge["id"], 100_000)

    await due_work_at(database, datetime.now(UTC) + timedelta(days=2))

    assert await available(client, first) == (307_500, 0)
    assert await available(client, second) == (102_500, 0)
    assert [b["remaining"] for b in await _bonuses(client, challenge["id"])] == [90_000]
    events = _ok(await client.get("/v1/events", headers=first.headers))["items"]
    paid = [e["data"] for e in events if e["type"] == "bonus.paid"]
    assert [(d["amount"], d["bonus_id"]) for d in paid] == [(7_500, offered["id"])]
    await _verify_ok(client)

    _ok(await client.post(f"/v1/challenges/{challenge['id']}/cancel", headers=steward.headers))
    assert await available(client, sponsor) == (90_000, 0)
    [bonus] = await _bonuses(client, challenge["id"])
    assert (bonus["status"], bonus["remaining"]) == ("returned", 0)
    sponsor_events = _ok(await client.get("/v1/events", headers=sponsor.headers))["items"]
    returned = [e["data"] for e in sponsor_events if e["type"] == "bonus.returned"]
    assert [d["returned"] for d in returned] == [90_000]
    await _verify_ok(client)


async def test_a_bonus_runs_out_and_pays_no_more_than_it_holds_anonymous_pledges_too(
    client: httpx.AsyncClient, database: Database
) -> None:
    challenge, _ = await open_challenge(client)
    sponsor = await funder(client, 1_000)
    _ok(await _offer(client, challenge["id"], sponsor, amount=1_000, bonus_bps=10_000), 201)
    first, second = await funder(client, 800), await funder(client, 800)
    await _threshold(client, first, challenge["id"], 800)
    anonymous = await pledge(
        client,
        second,
        challenge["id"],
        kind="threshold",
        amount=800,
        threshold_amount=10**9,
        deadline=future(1),
        anonymous=True,
    )
    assert anonymous.status_code == 201, anonymous.text
    await due_work_at(database, datetime.now(UTC) + timedelta(days=2))
    # Oldest pledge first or not, the two bonuses together are exactly the 1,000 escrowed.
    got = sorted([(await available(client, o))[0] - 800 for o in (first, second)])
    assert got == [200, 800]
    assert [b["remaining"] for b in await _bonuses(client, challenge["id"])] == [0]
    await _verify_ok(client)


async def test_met_and_cancelled_thresholds_earn_nothing_and_completion_returns_the_bonus(
    client: httpx.AsyncClient, database: Database
) -> None:
    challenge, steward = await open_challenge(client)
    sponsor = await funder(client, 5_000)
    _ok(await _offer(client, challenge["id"], sponsor, amount=5_000, bonus_bps=1_000), 201)
    met, quitter, backer = await funder(client), await funder(client), await funder(client)
    _ok(
        await pledge(
            client,
            met,
            challenge["id"],
            kind="threshold",
            amount=1_000,
            threshold_amount=2_000,
            deadline=future(1),
        ),
        201,
    )
    held = await _threshold(client, quitter, challenge["id"], 1_000)
    _ok(await client.post(f"/v1/pledges/{held['id']}/cancel", headers=quitter.headers))
    _ok(await pledge(client, backer, challenge["id"], amount=1_500), 201)  # meets `met`
    await due_work_at(database, datetime.now(UTC) + timedelta(days=2))
    assert await available(client, met) == (99_000, 0)
    assert await available(client, quitter) == (100_000, 0)
    _ok(await client.post(f"/v1/challenges/{challenge['id']}/complete", headers=steward.headers))
    assert await available(client, sponsor) == (5_000, 0)
    await _verify_ok(client)


async def test_bad_bonuses_are_refused_and_move_nothing(client: httpx.AsyncClient) -> None:
    challenge, steward = await open_challenge(client)
    sponsor = await funder(client, 1_000)
    for body in (
        {"amount": 100, "bonus_bps": 10_001},
        {"amount": 100, "bonus_bps": 0},
        {"amount": 100, "bonus_bps": "250"},
        {"amount": 0, "bonus_bps": 250},
        {"amount": 100},
        {"amount": 100, "bonus_bps": 250, "remaining": 5},
    ):
        refused = await _offer(client, challenge["id"], sponsor, **body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    over = (await _offer(client, challenge["id"], sponsor, amount=100, bonus_bps=10_001)).json()
    assert any(e["loc"] == ["body", "bonus_bps"] and "10000" in e["msg"] for e in over["errors"])
    short = await _offer(client, challenge["id"], sponsor, amount=1_001, bonus_bps=250)
    assert short.status_code == 409, short.text
    assert short.json()["code"] == "insufficient_funds"
    assert await available(client, sponsor) == (1_000, 0)
    missing = await _offer(
        client, "00000000-0000-0000-0000-000000000000", sponsor, amount=1, bonus_bps=1
    )
    assert missing.status_code == 404, missing.text
    actor = await make_org(client, "actor")
    assert (await _offer(client, challenge["id"], actor, amount=1, bonus_bps=1)).status_code == 403
    _ok(await client.post(f"/v1/challenges/{challenge['id']}/cancel", headers=steward.headers))
    ended = await _offer(client, challenge["id"], sponsor, amount=100, bonus_bps=250)
    assert ended.status_code == 409, ended.text
    assert ended.json()["code"] == "invalid_state"
    assert await _bonuses(client, challenge["id"]) == []
    assert await available(client, sponsor) == (1_000, 0)
    await _verify_ok(client)


async def test_the_challenge_page_shows_the_bonus_on_offer_until_it_is_returned(
    client: httpx.AsyncClient,
) -> None:
    challenge, steward = await open_challenge(client)
    page = await client.get(f"/challenges/{challenge['id']}")
    assert "Assurance bonus on offer" not in page.text
    sponsor = await funder(client, 100_000)
    _ok(await _offer(client, challenge["id"], sponsor, amount=100_000, bonus_bps=250), 201)
    page = await client.get(f"/challenges/{challenge['id']}")
    assert page.status_code == 200
    assert "Assurance bonus on offer" in page.text
    assert "plus 2.5%</strong>" in page.text
    assert "1,000.00</span>\n      USD of 1,000.00 left" in page.text
    _ok(await client.post(f"/v1/challenges/{challenge['id']}/cancel", headers=steward.headers))
    assert (
        "Assurance bonus on offer" not in (await client.get(f"/challenges/{challenge['id']}")).text
    )
