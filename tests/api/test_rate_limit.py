"""Per-key rate limits: 429 problem+json with Retry-After, shared across processes via Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.api.ratelimit import MemoryRateLimiter, RedisRateLimiter
from app.db import Database
from app.main import create_app
from app.settings import Settings
from tests.support.factories import make_org
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
