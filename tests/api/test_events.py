"""Events: one per state change, in its transaction; a feed per organisation; webhooks
signed per Standard Webhooks, retried, logged, and never sent twice at once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func, select, text
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.db import Database
from app.domain.events.dispatch import WebhookConfig, deliver_due
from app.domain.events.models import Event
from app.domain.events.publish import emit
from app.domain.events.webhooks import MAX_WEBHOOKS_PER_ORG
from app.main import create_app
from app.settings import Settings
from tests.api.test_delivery import bid, build
from tests.api.test_public_flows import live_market
from tests.support.factories import ADMIN, OrgHandle
from tests.support.market import funder, open_challenge, pledge
from tests.support.receiver import webhook_receiver
from tests.support.scratch_app import scratch_app

CONFIG = WebhookConfig(allow_private=True, retry_scale=0, timeout_seconds=5)


async def feed(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = ""
    while True:
        response = await client.get(f"/v1/events?limit=200{after}", headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if len(page["items"]) < 200:
            return items
        after = f"&after={page['next_cursor']}"


async def event_count(database: Database) -> int:
    async with database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Event)) or 0)


async def test_every_state_change_of_a_market_yields_exactly_one_event(
    client: httpx.AsyncClient, database: Database
) -> None:
    scenario = await live_market(client, database)
    events = await feed(client, ADMIN)
    assert Counter(e["type"] for e in events) == {
        "challenge.created": 2,
        "challenge.opened": 2,
        "deposit.created": 6,
        "pledge.held": 2,  # the match and the threshold pledge
        "pledge.drawn": 1,  # the match draws on the direct pledge
        "pledge.met": 1,  # the threshold is met
        "pledge.created": 5,  # four direct pledges and the rollover's new pledge
        "bid.submitted": 2,
        "bid.awarded": 2,
        "claim.submitted": 1,
        "claim.verified": 1,
        "payout.made": 1,
        "pledge.expired": 2,  # one refunded, one rolled over
        "milestone.failed": 1,
        "pledge.refunded": 3,  # failed escrow back to the two expired pledges; cancellation
        "challenge.cancelled": 1,
    }
    by_pledge: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if "pledge_id" in event["data"]:
            by_pledge[event["data"]["pledge_id"]].append(event["type"])
    ids = {name: p["id"] for name, p in scenario.pledges.items()}
    assert by_pledge[ids["matcher"]] == ["pledge.held", "pledge.drawn"]
    assert by_pledge[ids["threshold"]] == ["pledge.held", "pledge.met"]
    assert by_pledge[ids["direct"]] == ["pledge.created"]
    assert by_pledge[ids["expiring"]] == ["pledge.created", "pledge.expired", "pledge.refunded"]
    assert by_pledge[ids["rolling"]] == ["pledge.created", "pledge.expired", "pledge.refunded"]
    payout = next(e for e in events if e["type"] == "payout.made")
    assert payout["data"]["amount"] == 6_000
    assert sum(s["amount"] for s in payout["data"]["splits"]) == 6_000
    assert len({e["id"] for e in events}) == len(events)


async def test_a_change_that_fails_or_rolls_back_leaves_no_event(
    client: httpx.AsyncClient, database: Database
) -> None:
    market = await build(client)
    await pledge(client, await funder(client, 1_000), market.challenge["id"], amount=1_000)
    offer = (await bid(client, market, 5_000)).json()
    before = await event_count(database)
    short = await client.post(f"/v1/bids/{offer['id']}/award", headers=market.steward.headers)
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_funds")
    broke = await pledge(client, await funder(client, 0), market.challenge["id"], amount=10)
    assert broke.status_code == 409
    assert await event_count(database) == before  # neither refused change left an event

    class Boom(Exception):
        pass

    async def work(session: Any) -> None:
        await emit(session, "deposit.created", {"note": "never"}, public=True)
        raise Boom

    with pytest.raises(Boom):
        await database.transaction(work)
    assert await event_count(database) == before


async def test_each_organisation_sees_only_its_events_and_anonymity_holds(
    client: httpx.AsyncClient,
) -> None:
    challenge, steward = await open_challenge(client)
    shy, open_funder = await funder(client, 500), await funder(client, 500)
    secret = (await pledge(client, shy, challenge["id"], amount=300, anonymous=True)).json()
    named = (await pledge(client, open_funder, challenge["id"], amount=200)).json()

    def pledges_in(events: list[dict[str, Any]]) -> set[str]:
        return {e["data"]["pledge_id"] for e in events if "pledge_id" in e["data"]}

    mine = await feed(client, shy.headers)
    assert pledges_in(mine) == {secret["id"]}
    assert {e["type"] for e in mine} >= {"deposit.created", "pledge.created", "challenge.opened"}
    theirs = await feed(client, open_funder.headers)
    assert pledges_in(theirs) == {named["id"]}
    stewards = await feed(client, steward.headers)
    assert pledges_in(stewards) == {secret["id"], named["id"]}
    hidden = next(e for e in stewards if e["data"].get("pledge_id") == secret["id"])
    assert "funder_org_id" not in hidden["data"]
    assert shy.id not in json.dumps(stewards)
    assert not any(e["type"] == "deposit.created" for e in stewards)


async def test_the_feed_continues_after_a_cursor_and_refuses_an_unknown_one(
    client: httpx.AsyncClient,
) -> None:
    org = await funder(client, 100)
    for n in range(4):
        await client.post(
            f"/v1/orgs/{org.id}/deposits",
            json={"amount": 10 + n, "currency": "USD", "external_ref": f"more-{n}"},
            headers=ADMIN,
        )
    first = (await client.get("/v1/events?limit=2", headers=org.headers)).json()
    assert [e["data"]["amount"] for e in first["items"]] == [100, 10]
    rest = (
        await client.get(f"/v1/events?after={first['next_cursor']}", headers=org.headers)
    ).json()
    assert [e["data"]["amount"] for e in rest["items"]] == [11, 12, 13]
    idle = (await client.get(f"/v1/events?after={rest['next_cursor']}", headers=org.headers)).json()
    assert (idle["items"], idle["next_cursor"]) == ([], rest["next_cursor"])
    unknown = await client.get(
        "/v1/events?after=00000000-0000-4000-8000-000000000000", headers=org.headers
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_cursor")


@pytest.mark.postgres_only
async def test_a_transaction_open_elsewhere_holds_back_only_its_own_databases_feed(
    postgres_server_url: str,
) -> None:
    """Events of a transaction still running here wait (they may commit late, behind a
    cursor); a transaction open in another database of the cluster cannot write our events
    and must not stop the feed."""
    async with scratch_app(postgres_server_url, "feed") as scratch:
        client = scratch.client
        org = await funder(client, 100)

        async def amounts() -> list[int]:
            items = (await client.get("/v1/events", headers=org.headers)).json()["items"]
            return [e["data"]["amount"] for e in items]

        async def deposit(amount: int) -> None:
            made = await client.post(
                f"/v1/orgs/{org.id}/deposits",
                json={"amount": amount, "currency": "USD", "external_ref": f"d-{amount}"},
                headers=ADMIN,
            )
            assert made.status_code == 201, made.text

        with psycopg.connect(postgres_server_url, autocommit=False) as elsewhere:
            elsewhere.execute("SELECT pg_current_xact_id()")  # holds a transaction id, open
            await deposit(7)
            assert await amounts() == [100, 7]
        async with scratch.database.engine.connect() as here:
            await here.execute(text("SELECT pg_current_xact_id()"))  # open here, and older
            await deposit(8)
            assert await amounts() == [100, 7]
            await here.rollback()
        assert await amounts() == [100, 7, 8]


async def register(
    client: httpx.AsyncClient, org: OrgHandle, url: str, types: list[str]
) -> dict[str, Any]:
    made = await client.post(
        "/v1/webhooks", json={"url": url, "event_types": types}, headers=org.headers
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def test_a_receiver_gets_each_subscribed_event_with_a_valid_signature(
    client: httpx.AsyncClient, database: Database
) -> None:
    org = await funder(client, 0)
    with webhook_receiver() as receiver:
        hook = await register(client, org, receiver.url, ["deposit.created", "withdrawal.created"])
        assert hook["secret"].startswith("whsec_")
        for n in range(3):
            await client.post(
                f"/v1/orgs/{org.id}/deposits",
                json={"amount": 100 + n, "currency": "USD", "external_ref": f"wh-{n}"},
                headers=ADMIN,
            )
        await client.post(
            f"/v1/orgs/{org.id}/withdrawals",
            json={"amount": 50, "currency": "USD"},
            headers=org.headers,
        )
        assert await deliver_due(database, CONFIG) == 4
        assert await deliver_due(database, CONFIG) == 0
    verifier = StandardWebhook(hook["secret"])
    payloads = [verifier.verify(r.body, r.headers) for r in receiver.received]
    assert sorted((p["type"], p["data"]["amount"]) for p in payloads) == [
        ("deposit.created", 100),
        ("deposit.created", 101),
        ("deposit.created", 102),
        ("withdrawal.created", 50),
    ]
    events = {e["id"]: e for e in await feed(client, org.headers)}
    for received, payload in zip(receiver.received, payloads, strict=True):
        assert received.headers["webhook-id"] == payload["id"]
        assert events[payload["id"]]["data"] == payload["data"]
    tampered = receiver.received[0]
    with pytest.raises(WebhookVerificationError):
        verifier.verify(tampered.body[:-1] + b',"x":1}', tampered.headers)


async def test_a_failing_receiver_is_retried_and_the_log_shows_every_attempt(
    client: httpx.AsyncClient, database: Database
) -> None:
    org = await funder(client, 0)
    with webhook_receiver(statuses=[500, 503]) as receiver:
        hook = await register(client, org, receiver.url, ["deposit.created"])
        await client.post(
            f"/v1/orgs/{org.id}/deposits",
            json={"amount": 700, "currency": "USD", "external_ref": "retry-me"},
            headers=ADMIN,
        )
        for _ in range(5):
            await deliver_due(database, CONFIG)
    assert len(receiver.received) == 3  # failed twice, delivered once, then never again
    log = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=org.headers)).json()
    (delivery,) = log
    assert delivery["status"] == "delivered"
    assert [(a["attempt"], a["status_code"]) for a in delivery["attempts"]] == [
        (1, 500),
        (2, 503),
        (3, 200),
    ]
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {delivery["event_id"]}  # the same event each time: receivers dedupe by id


async def test_410_disables_the_webhook_until_its_owner_enables_it_again(
    client: httpx.AsyncClient, database: Database
) -> None:
    org = await funder(client, 0)
    with webhook_receiver(statuses=[410]) as receiver:
        hook = await register(client, org, receiver.url, ["*"])
        await client.post(
            f"/v1/orgs/{org.id}/deposits",
            json={"amount": 5, "currency": "USD", "external_ref": "gone"},
            headers=ADMIN,
        )
        await deliver_due(database, CONFIG)
        (listed,) = (await client.get("/v1/webhooks", headers=org.headers)).json()
        assert (listed["status"], listed["disabled_reason"]) == (
            "disabled",
            "the endpoint answered 410 Gone",
        )
        assert await deliver_due(database, CONFIG) == 0  # nothing goes to a disabled webhook
        enabled = await client.post(f"/v1/webhooks/{hook['id']}/enable", headers=org.headers)
        assert enabled.json()["status"] == "active"
        assert await deliver_due(database, CONFIG) == 1
    assert len(receiver.received) == 2
    gone = await client.delete(f"/v1/webhooks/{hook['id']}", headers=org.headers)
    assert gone.status_code == 204
    assert (await client.get("/v1/webhooks", headers=org.headers)).json() == []
    assert (
        await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=org.headers)
    ).status_code == 404


async def test_two_workers_never_deliver_an_event_twice_at_the_same_time(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    org = await funder(client, 0)
    with webhook_receiver(delay=0.2) as receiver:
        await register(client, org, receiver.url, ["deposit.created"])
        for n in range(12):
            await client.post(
                f"/v1/orgs/{org.id}/deposits",
                json={"amount": 1 + n, "currency": "USD", "external_ref": f"pair-{n}"},
                headers=ADMIN,
            )
        other = Database.from_settings(settings)  # a second worker: its own connection pool
        try:
            config = WebhookConfig(allow_private=True, retry_scale=0, batch=5)
            for _ in range(4):
                await asyncio.gather(deliver_due(database, config), deliver_due(other, config))
        finally:
            await other.dispose()
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 12
    assert len(set(ids)) == 12  # every event once: no duplicate, no loss


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8080/hook", "webhook_url_refused"),  # plain http, loopback
        ("https://127.0.0.1/hook", "webhook_url_refused"),
        ("https://10.0.0.7/hook", "webhook_url_refused"),
        ("https://169.254.169.254/latest/meta-data", "webhook_url_refused"),
        ("https://[::1]/hook", "webhook_url_refused"),
        ("https://[64:ff9b::7f00:1]/hook", "webhook_url_refused"),  # NAT64 of 127.0.0.1
        ("https://[2002:7f00:1::]/hook", "webhook_url_refused"),  # 6to4 of 127.0.0.1
        ("https://[::127.0.0.1]/hook", "webhook_url_refused"),  # IPv4-compatible
        ("https://[fec0::1]/hook", "webhook_url_refused"),  # site-local
        ("https://100.64.0.1/hook", "webhook_url_refused"),  # carrier-grade NAT
        ("https://192.0.0.8/hook", "webhook_url_refused"),  # IETF protocol assignments
        ("https://2130706433/hook", "webhook_url_refused"),  # 127.0.0.1 as one number
        ("https://0x7f.1/hook", "webhook_url_refused"),  # 127.0.0.1 in hex, short form
        ("https://user:pw@example.org/hook", "webhook_url_refused"),
        ("ftp://example.org/hook", "webhook_url_refused"),
        ("not a url", "validation_error"),
    ],
)
async def test_webhook_urls_that_reach_inside_are_refused(
    database: Database, settings: Settings, url: str, code: str
) -> None:
    strict = settings.model_copy(update={"webhook_allow_private": False})
    app = create_app(strict, database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        org = await funder(http, 0)
        refused = await http.post(
            "/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=org.headers
        )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == code


async def test_unknown_event_types_are_refused(client: httpx.AsyncClient) -> None:
    org = await funder(client, 0)
    bad = await client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/h", "event_types": ["pledge.exploded"]},
        headers=org.headers,
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "unknown_event_type")


async def test_deleted_webhooks_do_not_count_towards_the_limit(client: httpx.AsyncClient) -> None:
    org = await funder(client, 0)
    hooks = [
        await register(client, org, f"http://127.0.0.1:9/h{n}", ["*"])
        for n in range(MAX_WEBHOOKS_PER_ORG)
    ]
    gone = await client.delete(f"/v1/webhooks/{hooks[0]['id']}", headers=org.headers)
    assert gone.status_code == 204
    rotated = await register(client, org, "http://127.0.0.1:9/h0", ["*"])  # the secret rotated
    assert rotated["secret"] != hooks[0]["secret"]
    over = await client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/one-more", "event_types": ["*"]},
        headers=org.headers,
    )
    assert (over.status_code, over.json()["code"]) == (422, "too_many_webhooks")
    listed = (await client.get("/v1/webhooks", headers=org.headers)).json()
    assert len(listed) == MAX_WEBHOOKS_PER_ORG
