"""Idempotency-Key on POST: replays, reuse with another body, in-flight keys, expiry."""

from __future__ import annotations

import asyncio

import httpx
import psycopg
import pytest
from sqlalchemy import text

from app.db import Database
from app.domain.idempotency import service as idempotency
from app.main import create_app
from app.settings import Settings
from app.sql.types import utcnow
from tests.support.factories import ADMIN, OrgHandle, make_org
from tests.support.slow_sql import slow_down, stop_slowing, wait_for_sleeper


async def funded_org(client: httpx.AsyncClient, amount: int = 1000) -> OrgHandle:
    org = await make_org(client, "funder")
    response = await client.post(
        f"/v1/orgs/{org.id}/deposits",
        json={"amount": amount, "currency": "USD", "external_ref": f"seed-{org.id}"},
        headers=ADMIN,
    )
    assert response.status_code == 201
    return org


async def withdraw(
    client: httpx.AsyncClient, org: OrgHandle, amount: int, key: str | None
) -> httpx.Response:
    headers = dict(org.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(
        f"/v1/orgs/{org.id}/withdrawals",
        json={"amount": amount, "currency": "USD"},
        headers=headers,
    )


async def count(database: Database, table: str) -> int:
    async with database.read() as session:
        return int((await session.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one())


async def test_replay_returns_the_first_response_and_moves_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    org = await funded_org(client)
    first = await withdraw(client, org, 100, "pay-1")
    second = await withdraw(client, org, 100, "pay-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await count(database, "withdrawals") == 1


async def test_same_key_with_another_body_is_422_reused(client: httpx.AsyncClient) -> None:
    org = await funded_org(client)
    await withdraw(client, org, 100, "pay-2")
    response = await withdraw(client, org, 101, "pay-2")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


async def test_keys_belong_to_their_caller(client: httpx.AsyncClient, database: Database) -> None:
    first, second = await funded_org(client), await funded_org(client)
    assert (await withdraw(client, first, 100, "shared")).status_code == 201
    assert (await withdraw(client, second, 100, "shared")).status_code == 201
    assert await count(database, "withdrawals") == 2


async def test_json_key_order_does_not_change_the_fingerprint(client: httpx.AsyncClient) -> None:
    org = await funded_org(client)
    headers = {**org.headers, "Idempotency-Key": "order", "content-type": "application/json"}
    path = f"/v1/orgs/{org.id}/withdrawals"
    one = await client.post(path, content=b'{"amount": 5, "currency": "USD"}', headers=headers)
    two = await client.post(path, content=b'{"currency":"USD","amount":5}', headers=headers)
    assert two.json() == one.json()


async def test_a_duplicate_sent_while_the_first_runs_waits_and_answers_as_a_replay(
    client: httpx.AsyncClient, database: Database, backend: str, database_url: str
) -> None:
    """API.md (round 2): a request arriving with the key of one still running waits for it
    and then answers exactly as a replay would; the money moves once."""
    org = await funded_org(client, amount=1_000)
    if backend == "postgresql":  # keep the first one running while the second arrives
        slow_down(
            _plain(database_url), table="withdrawals", event="INSERT", when="TRUE", seconds=1.0
        )
    first, second = await asyncio.gather(
        withdraw(client, org, 300, "twice"), withdraw(client, org, 300, "twice")
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    replayed = [r.headers.get("idempotent-replayed") for r in (first, second)]
    assert sorted(str(flag) for flag in replayed) == ["None", "true"]
    assert await count(database, "withdrawals") == 1
    balances = (await client.get(f"/v1/orgs/{org.id}/balances", headers=ADMIN)).json()
    assert balances["balances"][0]["available"] == 700


@pytest.mark.postgres_only
async def test_a_request_killed_mid_flight_leaves_no_key_and_its_retry_runs_at_once(
    client: httpx.AsyncClient,
    database: Database,
    backend: str,
    database_url: str,
    settings: Settings,
) -> None:
    """The key is written with the work, so a request whose connection dies holds nothing:
    its retry with the same key runs at once (no lease to wait out)."""
    if backend != "postgresql":
        return  # SQLite has no other connections to kill; nothing to show there
    org = await funded_org(client, amount=1_000)
    url = _plain(database_url)
    # An app that does not retry its unit of work: the killed request ends there, as it
    # would if its whole server had died.
    once = create_app(settings, Database(database.engine, max_attempts=1))
    transport = httpx.ASGITransport(app=once, raise_app_exceptions=False)
    slow_down(url, table="withdrawals", event="INSERT", when="TRUE", seconds=2.0)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as dying:
        doomed = asyncio.create_task(withdraw(dying, org, 100, "doomed"))
        await asyncio.to_thread(wait_for_sleeper, url)
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event = 'PgSleep'"
            )
        assert (await doomed).status_code >= 500
    stop_slowing(url, "withdrawals")
    retry = await withdraw(client, org, 100, "doomed")
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert await count(database, "withdrawals") == 1
    assert await count(database, "idempotency_keys") >= 1


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_a_refusal_is_replayed_too(client: httpx.AsyncClient) -> None:
    org = await funded_org(client, amount=50)
    refused = await withdraw(client, org, 100, "too-much")
    assert refused.status_code == 409
    await client.post(
        f"/v1/orgs/{org.id}/deposits",
        json={"amount": 500, "currency": "USD", "external_ref": "top-up"},
        headers=ADMIN,
    )
    again = await withdraw(client, org, 100, "too-much")
    assert again.status_code == 409
    assert again.json() == refused.json()
    assert again.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "é"])
async def test_malformed_keys_are_422(client: httpx.AsyncClient, key: str) -> None:
    org = await funded_org(client)
    headers = {**org.headers, "Idempotency-Key": key}
    response = await client.post(
        f"/v1/orgs/{org.id}/withdrawals",
        json={"amount": 1, "currency": "USD"},
        headers={k: v.encode("utf-8") for k, v in headers.items()},  # type: ignore[misc]
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_idempotency_key"


async def test_every_post_honours_the_key(client: httpx.AsyncClient, database: Database) -> None:
    headers = {**ADMIN, "Idempotency-Key": "make-org"}
    one = await client.post("/v1/orgs", json={"name": "Idem", "roles": ["funder"]}, headers=headers)
    two = await client.post("/v1/orgs", json={"name": "Idem", "roles": ["funder"]}, headers=headers)
    assert (one.status_code, two.status_code) == (201, 201)
    assert one.json()["id"] == two.json()["id"]
    assert await count(database, "orgs") == 1


async def test_expired_keys_are_purged_by_due_work(
    client: httpx.AsyncClient, database: Database
) -> None:
    org = await funded_org(client)
    await withdraw(client, org, 1, "old")
    purged = await database.transaction(
        lambda s: idempotency.purge_expired(s, now=utcnow() + idempotency.KEY_TTL)
    )
    assert purged == 1
    assert await count(database, "idempotency_keys") == 0
    again = await withdraw(client, org, 1, "old")
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers


async def test_anonymous_requests_are_refused_and_store_no_key(
    client: httpx.AsyncClient, database: Database
) -> None:
    response = await client.post(
        "/v1/orgs", json={"name": "x", "roles": ["funder"]}, headers={"Idempotency-Key": "anon"}
    )
    assert response.status_code == 401
    assert await count(database, "idempotency_keys") == 0
