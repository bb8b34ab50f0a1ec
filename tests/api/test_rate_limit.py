"""Rate limits per key and per organisation: 429 problem+json with Retry-After, shared
across processes via Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.api.ratelimit import MemoryRateLimiter, RedisRateLimiter
from app.db import Database
from app.main import create_app
from app.settings import Settings
from tests.support.factories import ADMIN, OrgHandle, bearer, make_org
from tests.support.redis_server import redis_server


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


async def _client(settings: Settings, database: Database) -> httpx.AsyncClient:
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


@pytest.fixture
async def limited(database: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    tight = settings.model_copy(update={"rate_limit_per_second": 1, "rate_limit_burst": 3})
    async with await _client(tight, database) as http:
        yield http


async def test_requests_over_the_burst_get_429_with_retry_after(
    client: httpx.AsyncClient, limited: httpx.AsyncClient
) -> None:
    org = await make_org(client, "funder")
    statuses = [(await limited.get("/v1/me", headers=org.headers)).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    response = await limited.get("/v1/me", headers=org.headers)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1


async def test_buckets_are_per_key(client: httpx.AsyncClient, limited: httpx.AsyncClient) -> None:
    first = await make_org(client, "funder")
    second = await make_org(client, "funder")
    for _ in range(3):
        await limited.get("/v1/me", headers=first.headers)
    assert (await limited.get("/v1/me", headers=first.headers)).status_code == 429
    assert (await limited.get("/v1/me", headers=second.headers)).status_code == 200


async def test_memory_bucket_refills_over_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("app.api.ratelimit.time.monotonic", lambda: clock[0])
    limiter = MemoryRateLimiter(per_second=2, burst=2)
    assert [await limiter.acquire("k") for _ in range(3)] == [None, None, 1]
    clock[0] += 0.5
    assert await limiter.acquire("k") is None
    assert await limiter.acquire("k") == 1


async def test_redis_limit_holds_across_processes(redis_url: str) -> None:
    """Two limiters (as in two app processes) share one budget through Redis."""
    namespace = f"test:{uuid.uuid4().hex}:"
    first = RedisRateLimiter(redis_url, per_second=1, burst=10, namespace=namespace)
    second = RedisRateLimiter(redis_url, per_second=1, burst=10, namespace=namespace)
    try:
        results = [await (first if i % 2 else second).acquire("key:a") for i in range(16)]
        assert results.count(None) == 10
        assert all(wait is not None and wait >= 1 for wait in results[10:])
        assert await first.acquire("key:b") is None
    finally:
        await first.close()
        await second.close()


async def test_unreachable_redis_allows_requests() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:9/0", per_second=1, burst=1)
    try:
        assert await limiter.acquire("key") is None
        assert await limiter.acquire("key") is None
    finally:
        await limiter.close()


async def test_app_uses_redis_limits_across_two_app_instances(
    database: Database, settings: Settings, redis_url: str
) -> None:
    shared = settings.model_copy(
        update={"rate_limit_per_second": 1, "rate_limit_burst": 4, "redis_url": redis_url}
    )
    async with await _client(settings, database) as setup:
        org = await make_org(setup, "funder")
    async with await _client(shared, database) as one, await _client(shared, database) as two:
        statuses = [
            (await (one if i % 2 else two).get("/v1/me", headers=org.headers)).status_code
            for i in range(6)
        ]
    assert statuses.count(200) == 4
    assert statuses.count(429) == 2


async def more_keys(client: httpx.AsyncClient, org: OrgHandle, count: int) -> list[dict[str, str]]:
    """`count` further API keys of `org`, as request headers."""
    headers = []
    for _ in range(count):
        made = await client.post(f"/v1/orgs/{org.id}/api-keys", json={}, headers=ADMIN)
        assert made.status_code == 201, made.text
        headers.append(bearer(made.json()["secret"]))
    return headers


@pytest.fixture
def org_limited(settings: Settings) -> Settings:
    """Each key may send 3 at once; the whole organisation 5."""
    return settings.model_copy(
        update={
            "rate_limit_per_second": 1,
            "rate_limit_burst": 3,
            "org_rate_limit_per_second": 1,
            "org_rate_limit_burst": 5,
        }
    )


async def test_many_keys_of_one_org_share_the_org_limit_and_other_orgs_are_unaffected(
    client: httpx.AsyncClient, database: Database, org_limited: Settings
) -> None:
    org = await make_org(client, "funder")
    keys = [org.headers, *await more_keys(client, org, 3)]
    other = await make_org(client, "funder")
    async with await _client(org_limited, database) as limited:
        started = time.monotonic()
        responses = [await limited.get("/v1/me", headers=key) for _ in range(3) for key in keys]
        refilled = int(time.monotonic() - started)  # tokens the org regained meanwhile
        allowed = [r for r in responses if r.status_code == 200]
        refused = [r for r in responses if r.status_code != 200]
        assert 5 <= len(allowed) <= 5 + refilled  # every key stayed within its own burst
        assert {r.status_code for r in refused} == {429}
        for response in refused:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "rate_limited"
            assert "organisation" in response.json()["detail"]
            assert int(response.headers["retry-after"]) >= 1
        assert (await limited.get("/v1/me", headers=other.headers)).status_code == 200
        admin_read = await limited.get(f"/v1/orgs/{org.id}", headers=ADMIN)
        assert admin_read.status_code == 200


async def test_a_key_over_its_own_limit_does_not_drain_its_org(
    client: httpx.AsyncClient, database: Database, org_limited: Settings
) -> None:
    org = await make_org(client, "funder")
    (second,) = await more_keys(client, org, 1)
    async with await _client(org_limited, database) as limited:
        statuses = [
            (await limited.get("/v1/me", headers=org.headers)).status_code for _ in range(8)
        ]
        assert statuses[:3] == [200, 200, 200]
        assert statuses.count(429) >= 4
        assert (await limited.get("/v1/me", headers=second)).status_code == 200


async def test_zero_per_key_turns_every_limit_off(
    client: httpx.AsyncClient, database: Database, org_limited: Settings
) -> None:
    unlimited = org_limited.model_copy(update={"rate_limit_per_second": 0})
    org = await make_org(client, "funder")
    async with await _client(unlimited, database) as http:
        statuses = {(await http.get("/v1/me", headers=org.headers)).status_code for _ in range(8)}
    assert statuses == {200}


async def test_the_org_limit_holds_across_two_app_instances_through_redis(
    client: httpx.AsyncClient, database: Database, org_limited: Settings, redis_url: str
) -> None:
    shared = org_limited.model_copy(
        update={"rate_limit_per_second": 100, "rate_limit_burst": 100, "redis_url": redis_url}
    )
    org = await make_org(client, "funder")
    keys = [org.headers, *await more_keys(client, org, 2)]
    async with await _client(shared, database) as one, await _client(shared, database) as two:
        started = time.monotonic()
        statuses = [
            (await (one if i % 2 else two).get("/v1/me", headers=keys[i % 3])).status_code
            for i in range(9)
        ]
        refilled = int(time.monotonic() - started)
    assert 5 <= statuses.count(200) <= 5 + refilled
    assert statuses.count(429) == 9 - statuses.count(200)


def test_org_limits_have_defaults_above_one_key() -> None:
    defaults = Settings()
    assert defaults.org_rate_limit_per_second == 2 * defaults.rate_limit_per_second
    assert defaults.org_rate_limit_burst == 2 * defaults.rate_limit_burst
