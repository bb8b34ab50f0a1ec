"""Delivering webhooks from the outbox: due work, at least once, never on a request path.

A round claims due deliveries with a short lease (FOR UPDATE SKIP LOCKED on PostgreSQL, then
`locked_until`), commits, sends them concurrently with short timeouts over connections that
go only to checked public addresses (transport.py), and records each answer in a second
transaction; only the status line is read, never the receiver's body. A worker that dies
mid-round leaves leases that expire, so the delivery is retried: at least once, and never
by two workers at the same time. Retries follow the Standard Webhooks schedule (scaled by a
setting, for tests); a 410 disables the webhook at once, as do too many consecutive failures.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpcore
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.due_items import Transactor
from app.domain.events import signing, transport, url_safety
from app.domain.events.models import Delivery, DeliveryAttempt, Event, Webhook
from app.sql.types import utcnow

# Standard Webhooks: immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
RETRY_DELAYS_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 36000)
LEASE_SECONDS = 60


@dataclass(frozen=True)
class WebhookConfig:
    allow_private: bool = False
    timeout_seconds: float = 5.0
    retry_scale: float = 1.0
    disable_after: int = 15
    batch: int = 50


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    attempt: int
    url: str
    secret: str
    event_id: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def body_of(event: Event) -> bytes:
    payload = {
        "id": str(event.id),
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")


async def _claim(session: AsyncSession, now: datetime, config: WebhookConfig) -> list[Claimed]:
    due = (
        select(Delivery.id)
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            or_(Delivery.locked_until.is_(None), Delivery.locked_until <= now),
            Webhook.status == "active",
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(config.batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=Delivery, skip_locked=True)
    ids = list(await session.scalars(due))
    if not ids:
        return []
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(locked_until=now + timedelta(seconds=LEASE_SECONDS), attempts=Delivery.attempts + 1)
    )
    rows = await session.execute(
        select(Delivery, Webhook, Event)
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .join(Event, Event.seq == Delivery.event_seq)
        .where(Delivery.id.in_(ids))
        .execution_options(populate_existing=True)
    )
    return [
        Claimed(d.id, w.id, d.attempts, w.url, w.secret, str(e.id), body_of(e)) for d, w, e in rows
    ]


def _timeouts(config: WebhookConfig) -> dict[str, float]:
    seconds = config.timeout_seconds
    return {"connect": min(2.0, seconds), "read": seconds, "write": seconds, "pool": seconds}


async def _send(
    pool: httpcore.AsyncConnectionPool, item: Claimed, config: WebhookConfig
) -> Outcome:
    """One attempt. The scheme is checked here; the addresses at the connection itself."""
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        url_safety.parse(item.url, allow_private=config.allow_private)
        timestamp = int(time.time())
        async with pool.stream(
            "POST",
            transport.target(item.url),
            headers=list(signing.headers(item.secret, item.event_id, timestamp, item.body).items()),
            content=item.body,
            extensions={"timeout": _timeouts(config)},
        ) as response:
            status = response.status
    except url_safety.UnsafeUrl as refused:
        error = refused.detail
    except transport.DELIVERY_ERRORS as failed:
        error = f"{type(failed).__name__}: {failed}"[:500]
    return Outcome(item, status, error, int((time.perf_counter() - started) * 1000))


async def _record(
    session: AsyncSession, outcomes: list[Outcome], now: datetime, config: WebhookConfig
) -> None:
    for outcome in sorted(outcomes, key=lambda o: o.claimed.delivery_id):
        item = outcome.claimed
        session.add(
            DeliveryAttempt(
                delivery_id=item.delivery_id,
                attempt=item.attempt,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                created_at=now,
            )
        )
        delivery = await session.get(Delivery, item.delivery_id, with_for_update=True)
        webhook = await session.get(Webhook, item.webhook_id, with_for_update=True)
        if delivery is None or webhook is None:
            continue
        delivery.locked_until = None
        if outcome.delivered:
            delivery.status, delivery.delivered_at = "delivered", now
            webhook.consecutive_failures = 0
            continue
        webhook.consecutive_failures += 1
        if outcome.status_code == 410:
            webhook.status, webhook.disabled_reason = "disabled", "the endpoint answered 410 Gone"
        elif webhook.consecutive_failures >= config.disable_after and webhook.status == "active":
            webhook.status = "disabled"
            webhook.disabled_reason = f"{webhook.consecutive_failures} failed attempts in a row"
        if item.attempt > len(RETRY_DELAYS_SECONDS):
            delivery.status = "failed"
        else:
            delay = RETRY_DELAYS_SECONDS[item.attempt - 1] * config.retry_scale
            delivery.next_attempt_at = now + timedelta(seconds=delay)
    await session.flush()


async def deliver_due(
    database: Transactor, config: WebhookConfig, *, now: datetime | None = None
) -> int:
    """One round: claim, send, record. Returns how many deliveries were attempted."""
    moment = now or utcnow()
    claimed = await database.transaction(lambda session: _claim(session, moment, config))
    if not claimed:
        return 0
    async with transport.connection_pool(allow_private=config.allow_private) as pool:
        outcomes = await asyncio.gather(*(_send(pool, item, config) for item in claimed))
    await database.transaction(lambda session: _record(session, list(outcomes), utcnow(), config))
    return len(claimed)
