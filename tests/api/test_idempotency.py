"""Idempotency-Key on POST: replays, reuse with another body, in-flight keys, expiry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text, update

from app.db import Database
from app.domain.idempotency import service as idempotency
from app.domain.idempotency.models import IdempotencyKey
from app.sql.types import utcnow
from tests.support.factories import ADMIN, OrgHandle, make_org


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


async def test_a_key_whose_request_is_still_running_is_409_in_use(
    client: httpx.AsyncClient, database: Database
) -> None:
    org = await funded_org(client)
    other = await withdraw(client, org, 100, "probe")
    assert other.status_code == 201
    await database.transaction(
        lambda s: s.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "probe")
            .values(state="in_progress", locked_at=utcnow())
        )
    )
    response = await withdraw(client, org, 100, "probe")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_use"


async def test_a_key_abandoned_by_a_dead_request_is_taken_over(
    client: httpx.AsyncClient, database: Database
) -> None:
    org = await funded_org(client)
    scope = f"org:{org.id}"
    fingerprint_source = await withdraw(client, org, 100, "template")
    assert fingerprint_source.status_code == 201
    async with database.read() as session:
        template = await session.get(IdempotencyKey, (scope, "template"))
    assert template is not None
    long_ago = utcnow() - idempotency.LEASE - timedelta(seconds=1)

    async def abandon(session: object) -> None:
        from sqlalchemy.ext.asyncio import AsyncSession

        assert isinstance(session, AsyncSession)
        session.add(
            IdempotencyKey(
                scope=scope,
                key="dead",
                fingerprint=template.fingerprint.replace(template.fingerprint, "0" * 64),
                state="in_progress",
                lock_token=uuid.uuid4(),
                locked_at=long_ago,
                created_at=long_ago,
                expires_at=long_ago + idempotency.KEY_TTL,
            )
        )

    await database.transaction(abandon)  # type: ignore[arg-type]
    reused = await withdraw(client, org, 100, "dead")
    assert reused.status_code == 422  # a different request: the fingerprint differs
    await database.transaction(
        lambda s: s.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "dead")
            .values(fingerprint=template.fingerprint)
        )
    )
    taken = await withdraw(client, org, 100, "dead")
    assert taken.status_code == 201
    assert await count(database, "withdrawals") == 2


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


async def test_an_in_use_key_says_when_to_retry(
    client: httpx.AsyncClient, database: Database
) -> None:
    org = await funded_org(client)
    assert (await withdraw(client, org, 100, "busy")).status_code == 201
    await database.transaction(
        lambda s: s.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "busy")
            .values(state="in_progress", locked_at=utcnow())
        )
    )
    response = await withdraw(client, org, 100, "busy")
    assert (response.status_code, response.json()["code"]) == (409, "idempotency_key_in_use")
    assert response.headers["retry-after"] == "1"


async def test_a_key_taken_over_mid_request_is_in_use_with_retry_after(
    client: httpx.AsyncClient, database: Database
) -> None:
    """The other way to meet a key in use: the work finds its claim was taken over."""
    from app.api.errors import domain_problem
    from app.domain.errors import DomainError

    org = await funded_org(client)
    assert (await withdraw(client, org, 100, "stolen")).status_code == 201
    with pytest.raises(DomainError) as raised:
        await database.transaction(
            lambda s: idempotency.lock(s, scope=f"org:{org.id}", key="stolen", token=uuid.uuid4())
        )
    problem = domain_problem(raised.value)
    assert (problem.status_code, raised.value.code) == (409, "idempotency_key_in_use")
    assert problem.headers["retry-after"] == "1"
