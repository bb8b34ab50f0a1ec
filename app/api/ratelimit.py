"""Token buckets per API key and per organisation, shared by every process through Redis
when it is configured.

Every authenticated request takes a token from its key's bucket, then from its
organisation's: an organisation may mint many keys, and without the second bucket each new
key would add another full rate. The key's bucket is asked first, so a key that floods is
refused there and does not drain the budget of its organisation's other keys.

With `TRIBUTARY_REDIS_URL` set, one Lua script per request refills and takes from the
bucket atomically using Redis's clock, so N app processes together allow exactly the
configured rate. Without Redis (the embedded default, one process), buckets live in process
memory: then the effective limit is the configured rate times the number of processes, which
is stated in README.md. If Redis stops answering, requests are allowed (and a warning
logged): a broken limiter must not take the money platform down with it.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.domain.errors import RateLimited
from app.domain.identity.caller import Caller
from app.settings import Settings

log = logging.getLogger(__name__)

MAX_MEMORY_BUCKETS = 100_000
MILLI = 1000

# Tokens are kept in thousandths so the script needs integers only. Returns 0 when the
# request may proceed, else the milliseconds until one token is available.
_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2]) * 1000
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1000 then tokens = tokens - 1000 else wait = math.ceil((1000 - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return wait
"""


class RateLimiter(Protocol):
    async def acquire(self, key: str) -> int | None:
        """None if allowed, else whole seconds to wait (at least 1)."""

    async def close(self) -> None: ...


def _seconds(wait_ms: int) -> int:
    return max(1, math.ceil(wait_ms / MILLI))


class MemoryRateLimiter:
    """Token buckets in this process's memory, bounded to the most recent keys."""

    def __init__(self, per_second: int, burst: int) -> None:
        self.per_second, self.burst = per_second, burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def acquire(self, key: str) -> int | None:
        now = time.monotonic()
        tokens, stamp = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.per_second)
        wait: int | None = None
        if tokens >= 1:
            tokens -= 1
        else:
            wait = _seconds(math.ceil((1 - tokens) / self.per_second * MILLI))
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > MAX_MEMORY_BUCKETS:
            self._buckets.popitem(last=False)
        return wait

    async def close(self) -> None:
        self._buckets.clear()


class RedisRateLimiter:
    """Token buckets in Redis: one limit across every process that shares the server."""

    def __init__(self, url: str, per_second: int, burst: int, *, namespace: str = "trb:rl:"):
        self.per_second, self.burst, self.namespace = per_second, burst, namespace
        self._redis: Redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._redis.register_script(_BUCKET_SCRIPT)

    async def acquire(self, key: str) -> int | None:
        try:
            wait_ms = int(
                await self._script(keys=[self.namespace + key], args=[self.per_second, self.burst])
            )
        except (RedisError, OSError) as error:
            log.warning("rate limiter unavailable, allowing request: %s", error)
            return None
        return None if wait_ms == 0 else _seconds(wait_ms)

    async def close(self) -> None:
        await self._redis.aclose()


class NoRateLimit:
    async def acquire(self, key: str) -> int | None:
        return None

    async def close(self) -> None:
        return None


def build_rate_limiter(per_second: int, burst: int, redis_url: str | None) -> RateLimiter:
    if per_second == 0:
        return NoRateLimit()
    if redis_url:
        return RedisRateLimiter(redis_url, per_second, burst)
    return MemoryRateLimiter(per_second, burst)


class CallerRateLimits:
    """The two limits every authenticated caller meets: its key's, then its organisation's."""

    def __init__(self, per_key: RateLimiter, per_org: RateLimiter) -> None:
        self.per_key, self.per_org = per_key, per_org

    async def check(self, caller: Caller) -> None:
        """Take one token from each bucket of the caller; RateLimited if either is empty."""
        wait_seconds = await self.per_key.acquire(caller.rate_limit_key)
        if wait_seconds is not None:
            raise RateLimited(wait_seconds)
        org_key = caller.org_rate_limit_key
        if org_key is not None:
            wait_seconds = await self.per_org.acquire(org_key)
            if wait_seconds is not None:
                raise RateLimited(wait_seconds, whole_organisation=True)

    async def close(self) -> None:
        await self.per_key.close()
        await self.per_org.close()


def build_caller_limits(settings: Settings) -> CallerRateLimits:
    """A per-key rate of 0 turns every limit off (as it always has); an organisation rate of
    0 turns off only the organisation's."""
    keys_on = settings.rate_limit_per_second > 0
    return CallerRateLimits(
        per_key=build_rate_limiter(
            settings.rate_limit_per_second, settings.rate_limit_burst, settings.redis_url
        ),
        per_org=build_rate_limiter(
            settings.org_rate_limit_per_second if keys_on else 0,
            settings.org_rate_limit_burst,
            settings.redis_url,
        ),
    )
