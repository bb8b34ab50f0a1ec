"""Public funding flows and stats equal the ledger's own sums after a whole market's life,
and nothing private, least of all who pledged anonymously, appears in any public answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from app.domain.flows import reconcile
from app.migrations import downgrade, upgrade
from tests.api.test_delivery import Market, assign, attest, bid, build, claim, milestone
from tests.support.factories import ADMIN, OrgHandle
from tests.support.market import due_work_at, funder, future, open_challenge, pledge
from tests.support.signing import seal_everything
from tests.support.statements import recorded_statements

PLEDGE_KINDS = ("pledge", "threshold_met", "match_draw")
REFUND_KINDS = ("pledge_refund", "pledge_expiry_refund")


@dataclass
class Scenario:
    market: Market
    other_challenge: dict[str, Any]
    funders: dict[str, OrgHandle]
    pledges: dict[str, dict[str, Any]]
    failed_milestone: dict[str, Any]


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def live_market(client: httpx.AsyncClient, database: Database) -> Scenario:
    """Every kind of pledge, a paid milestone, a failed one, an expiry refund, a rollover
    into another challenge, and that challenge's cancellation."""
    market = await build(client)
    cid = market.challenge["id"]
    other, other_steward = await open_challenge(client, title="Clean water for Mombasa")
    names = ("matcher", "direct", "threshold", "anonymous", "expiring", "rolling")
    funders = {name: await funder(client, 20_000) for name in names}
    made = {
        "matcher": await pledge(
            client, funders["matcher"], cid, kind="match", amount=1_500, match_ratio=1.0
        ),
        "direct": await pledge(client, funders["direct"], cid, amount=6_000),
        "threshold": await pledge(
            client,
            funders["threshold"],
            cid,
            kind="threshold",
            amount=2_000,
            threshold_amount=9_000,
            deadline=future(10),
        ),
        "anonymous": await pledge(client, funders["anonymous"], cid, amount=3_000, anonymous=True),
        "expiring": await pledge(
            client, funders["expiring"], cid, amount=1_000, expires_at=future(30)
        ),
        "rolling": await pledge(
            client,
            funders["rolling"],
            cid,
            amount=500,
            expires_at=future(30),
            on_expiry="rollover",
            rollover_challenge_id=other["id"],
        ),
    }
    pledges = {name: await _ok(response, 201) for name, response in made.items()}

    offer = await _ok(await bid(client, market, 8_000), 201)
    await _ok(await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers))
    await _ok(await assign(client, market))
    submitted = await _ok(await claim(client, market, 80), 201)
    await _ok(await attest(client, market.verifiers[0], submitted["id"], "approve", 70), 201)
    await _ok(await attest(client, market.verifiers[1], submitted["id"], "approve", 80), 201)

    doomed = await milestone(client, cid, market.steward, title="Pumps", due_at=future(45))
    second = await _ok(await bid(client, market, 2_000, doomed["id"]), 201)
    await _ok(await client.post(f"/v1/bids/{second['id']}/award", headers=market.steward.headers))

    now = datetime.now(UTC)
    await due_work_at(database, now + timedelta(days=31))  # expiry: refund and rollover
    await due_work_at(database, now + timedelta(days=46))  # the pumps milestone fails
    await _ok(
        await client.post(f"/v1/challenges/{other['id']}/cancel", headers=other_steward.headers)
    )
    await seal_everything(database)
    return Scenario(market, other, funders, pledges, doomed)


async def statement(client: httpx.AsyncClient, org: OrgHandle) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = await _ok(
            await client.get(
                f"/v1/orgs/{org.id}/statement?currency=USD&limit=200{cursor}", headers=ADMIN
            )
        )
        lines += page["items"]
        if not page["next_cursor"]:
            return lines
        cursor = f"&cursor={page['next_cursor']}"


def signed_sum(lines: list[dict[str, Any]], kinds: tuple[str, ...]) -> int:
    return sum(line["amount"] for line in lines if line["kind"] in kinds)


async def ledger_balance_sum(database: Database, code: str) -> int:
    async with database.read() as session:
        total = await session.scalar(
            text(
                "SELECT COALESCE(SUM(b.credits_posted - b.debits_posted), 0) "
                "FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id "
                "WHERE a.code = :code"
            ),
            {"code": code},
        )
    return int(total or 0)


def links(flows: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(link["source"], link["target"]): link["amount"] for link in flows["links"]}


async def test_stats_and_flows_equal_the_ledgers_own_sums(
    client: httpx.AsyncClient, database: Database
) -> None:
    scenario = await live_market(client, database)
    market, cid = scenario.market, scenario.market.challenge["id"]
    books = {name: await statement(client, org) for name, org in scenario.funders.items()}
    actors = {org.id: await statement(client, org) for org in (market.lead, market.partner)}

    pledged = -sum(signed_sum(lines, PLEDGE_KINDS) for lines in books.values())
    returned = sum(signed_sum(lines, REFUND_KINDS) for lines in books.values())
    paid = sum(signed_sum(lines, ("payout",)) for lines in actors.values())
    in_escrow = await ledger_balance_sum(database, "escrow")
    in_pledges = await ledger_balance_sum(database, "pledge")
    assert (pledged, paid) == (14_000, 6_000)  # 1,500 + 6,000 + 2,000 + 3,000 + 1,000 + 500
    assert returned > 0
    assert in_pledges > 0

    stats = await _ok(await client.get("/v1/public/stats"))
    (usd,) = stats["totals"]
    assert usd == {
        "currency": "USD",
        "pledged": pledged,
        "paid": paid,
        "returned": returned,
        "allocated": in_escrow,
        "available": in_pledges,
        "fees": 0,  # no verifier fee here: tests/api/test_fees.py pays some
        "challenges": 2,
        "funders": 6,
        "actors": 2,
    }
    assert pledged == paid + returned + in_escrow + in_pledges

    flows = await _ok(await client.get(f"/v1/public/flows?challenge_id={cid}"))
    assert flows["currency"] == "USD"
    got = links(flows)
    here = f"challenge:{cid}"
    for name in ("matcher", "direct", "threshold", "expiring", "rolling"):
        org = scenario.funders[name]
        assert got[(f"funder:{org.id}", here)] == -signed_sum(books[name], PLEDGE_KINDS)
    assert got[("anonymous", here)] == -signed_sum(books["anonymous"], PLEDGE_KINDS) == 3_000
    m1 = f"milestone:{market.m1['id']}"
    assert got[(here, m1)] == paid  # the unpaid quarter went back to the pledges
    assert (here, f"milestone:{scenario.failed_milestone['id']}") not in got  # all returned
    for org_id, lines in actors.items():
        assert got[(m1, f"actor:{org_id}")] == signed_sum(lines, ("payout",))
    assert {node["kind"] for node in flows["nodes"]} == {
        "funder",
        "challenge",
        "milestone",
        "actor",
    }
    labels = {node["id"]: node["label"] for node in flows["nodes"]}
    assert labels[here] == market.challenge["title"]
    assert labels["anonymous"] == "Anonymous funders"

    rolled = await _ok(
        await client.get(f"/v1/public/flows?challenge_id={scenario.other_challenge['id']}")
    )
    rolling = scenario.funders["rolling"]
    mine = await _ok(await client.get(f"/v1/orgs/{rolling.id}/pledges", headers=ADMIN))
    (successor,) = [p for p in mine["items"] if p["challenge_id"] == scenario.other_challenge["id"]]
    assert successor["status"] == "refunded"  # rolled over, then that challenge was cancelled
    assert links(rolled) == {
        (f"funder:{rolling.id}", f"challenge:{scenario.other_challenge['id']}"): successor["amount"]
    }
    assert signed_sum(books["rolling"], ("pledge_refund",)) == successor["amount"]

    platform = await _ok(await client.get("/v1/public/flows?currency=USD"))
    assert links(platform) == got | links(rolled)

    totals = (await _ok(await client.get(f"/v1/challenges/{cid}")))["totals"]
    assert totals["paid"] == paid
    assert totals["allocated"] == in_escrow


async def test_no_anonymous_funder_appears_in_any_public_answer(
    client: httpx.AsyncClient, database: Database
) -> None:
    scenario = await live_market(client, database)
    secret = scenario.funders["anonymous"]
    hidden = {secret.id, secret.body["name"], secret.id.replace("-", "")}
    cid, other = scenario.market.challenge["id"], scenario.other_challenge["id"]
    paths = [
        "/v1/public/stats",
        "/v1/public/flows",
        f"/v1/public/flows?challenge_id={cid}",
        f"/v1/public/flows?challenge_id={cid}&max_funders=1",
        f"/v1/public/flows?challenge_id={other}",
        "/v1/challenges",
        f"/v1/challenges/{cid}",
        f"/v1/challenges/{cid}/milestones",
        f"/v1/swarms/{scenario.market.swarm['id']}",
        "/v1/public/ledger/tree-head",
        "/v1/public/ledger/tree-heads",
        "/v1/public/ledger/key",
        "/",
        f"/challenges/{cid}",
    ]
    head = await _ok(await client.get("/v1/public/ledger/tree-head"))
    async with database.read() as session:
        entry_ids = (await session.scalars(text("SELECT entry_id FROM ledger_merkle_leaves"))).all()
    assert len(entry_ids) == head["tree_size"]
    paths += [f"/v1/public/ledger/entries/{entry_id}/proof" for entry_id in entry_ids]
    paths.append(f"/v1/public/ledger/consistency?first=1&second={head['tree_size']}")
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 200, f"{path}: {response.text}"
        for needle in hidden:
            assert needle not in response.text, f"{path} reveals the anonymous funder"
    for path in (f"/v1/pledges/{scenario.pledges['anonymous']['id']}", f"/v1/orgs/{secret.id}"):
        assert (await client.get(path)).status_code == 401  # private without a key


async def test_many_funders_fold_into_one_node_and_amounts_stay_exact(
    client: httpx.AsyncClient,
) -> None:
    challenge, _ = await open_challenge(client)
    cid = challenge["id"]
    for amount in (500, 400, 300, 200, 100):
        org = await funder(client, amount)
        await _ok(await pledge(client, org, cid, amount=amount), 201)
    full = await _ok(await client.get(f"/v1/public/flows?challenge_id={cid}"))
    folded = await _ok(await client.get(f"/v1/public/flows?challenge_id={cid}&max_funders=2"))
    assert sorted(links(full).values(), reverse=True) == [500, 400, 300, 200, 100]
    assert sorted(links(folded).values(), reverse=True) == [600, 500, 400]
    others = next(node for node in folded["nodes"] if node["id"] == "other_funders")
    assert (others["kind"], others["label"], others["ref"]) == ("funder", "3 other funders", None)
    assert links(folded)[("other_funders", f"challenge:{cid}")] == 600


async def test_an_unchanged_view_answers_304_and_a_change_a_new_etag(
    client: httpx.AsyncClient,
) -> None:
    challenge, _ = await open_challenge(client)
    path = f"/v1/public/flows?challenge_id={challenge['id']}"
    first = await client.get(path)
    tag = first.headers["etag"]
    again = await client.get(path, headers={"If-None-Match": tag})
    assert (again.status_code, again.content) == (304, b"")
    org = await funder(client, 100)
    await _ok(await pledge(client, org, challenge["id"], amount=100), 201)
    moved = await client.get(path, headers={"If-None-Match": tag})
    assert moved.status_code == 200
    assert moved.headers["etag"] != tag
    assert links(moved.json()) == {(f"funder:{org.id}", f"challenge:{challenge['id']}"): 100}


async def test_a_view_is_built_once_per_version_and_rebuilt_when_money_moves(
    client: httpx.AsyncClient, database: Database
) -> None:
    """A repeated read costs the scope check and the version only (no graph is built); every
    kind of movement that changes the view changes what is answered, whichever view
    (challenge, platform, fewer funders) asked first."""
    challenge, _ = await open_challenge(client)
    views = [
        f"/v1/public/flows?challenge_id={challenge['id']}",
        f"/v1/public/flows?challenge_id={challenge['id']}&max_funders=1",
        "/v1/public/flows?currency=USD",
    ]
    first = [await client.get(path) for path in views]
    with recorded_statements(database.engine) as sent:
        again = [await client.get(path) for path in views]
    assert [r.content for r in again] == [r.content for r in first]
    assert len(sent) == 2 * len(views) - 1, sent  # challenge + version twice, version once
    orgs = [await funder(client, 1_000) for _ in range(2)]
    for org, amount in zip(orgs, (300, 200), strict=True):
        await _ok(await pledge(client, org, challenge["id"], amount=amount), 201)
        moved = [(await client.get(path)).json() for path in views]
        assert links(moved[0])[(f"funder:{org.id}", f"challenge:{challenge['id']}")] == amount
        assert links(moved[2])[(f"funder:{org.id}", f"challenge:{challenge['id']}")] == amount
    folded = links(moved[1])
    assert folded[(f"funder:{orgs[0].id}", f"challenge:{challenge['id']}")] == 300
    assert folded[("other_funders", f"challenge:{challenge['id']}")] == 200


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("challenge_id=00000000-0000-4000-8000-000000000000", 404, "not_found"),
        ("challenge_id=nope", 422, "validation_error"),
        ("currency=usd", 422, "validation_error"),
        ("max_funders=0", 422, "validation_error"),
        ("max_funders=10001", 422, "validation_error"),
    ],
)
async def test_bad_flow_queries_are_clear_4xx(
    client: httpx.AsyncClient, query: str, status: int, code: str
) -> None:
    response = await client.get(f"/v1/public/flows?{query}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def test_flows_in_several_currencies_need_a_choice(client: httpx.AsyncClient) -> None:
    usd, _ = await open_challenge(client)
    eur, _ = await open_challenge(client, currency="EUR")
    await _ok(await pledge(client, await funder(client, 100), usd["id"], amount=100), 201)
    await _ok(await pledge(client, await funder(client, 70, "EUR"), eur["id"], amount=70), 201)
    unsure = await client.get("/v1/public/flows")
    assert (unsure.status_code, unsure.json()["code"]) == (422, "currency_required")
    euros = await _ok(await client.get("/v1/public/flows?currency=EUR"))
    assert [link["amount"] for link in euros["links"]] == [70]
    mismatch = await client.get(f"/v1/public/flows?challenge_id={usd['id']}&currency=EUR")
    assert mismatch.json()["code"] == "currency_mismatch"
    stats = await _ok(await client.get("/v1/public/stats"))
    assert [(row["currency"], row["pledged"]) for row in stats["totals"]] == [
        ("EUR", 70),
        ("USD", 100),
    ]


@pytest.mark.tampers_ledger
async def test_the_ledger_check_reports_a_rollup_that_drifted_from_the_journal(
    client: httpx.AsyncClient, database: Database, admin_headers: dict[str, str]
) -> None:
    challenge, _ = await open_challenge(client)
    await _ok(await pledge(client, await funder(client, 100), challenge["id"], amount=100), 201)
    clean = await _ok(await client.get("/v1/ledger/verify", headers=admin_headers))
    assert clean["ok"] is True
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE flow_totals SET amount = amount + 1"))
    drifted = await _ok(await client.get("/v1/ledger/verify", headers=admin_headers))
    assert drifted["ok"] is False
    (violation,) = drifted["violations"]
    assert violation["check"] == "flow_rollup"
    assert "rollup 101, ledger 100" in json.dumps(violation)


async def test_the_rollup_migration_rebuilds_the_totals_from_the_journal(
    client: httpx.AsyncClient, database: Database
) -> None:
    await live_market(client, database)
    before = await _ok(await client.get("/v1/public/stats"))
    await downgrade(database.engine, "0006_delivery")
    await upgrade(database.engine)
    async with database.read() as session:
        assert await reconcile.differences(session) == []
        rows = await session.scalar(text("SELECT COUNT(*) FROM flow_totals"))
    assert rows > 10
    assert await _ok(await client.get("/v1/public/stats")) == before
