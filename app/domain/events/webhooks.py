"""Webhook subscriptions: register, list, remove, re-enable, and read the delivery log."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.errors import NotFound, Unprocessable
from app.domain.events import url_safety
from app.domain.events.models import Delivery, DeliveryAttempt, Event, Webhook
from app.domain.events.publish import ALL_TYPES, EVENT_TYPES
from app.domain.events.signing import SECRET_PREFIX
from app.domain.identity.caller import Caller
from app.domain.wording import listed, quoted

MAX_WEBHOOKS_PER_ORG = 20


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(24)).decode("ascii")


async def register(
    session: AsyncSession,
    caller: Caller | None,
    *,
    url: str,
    event_types: list[str],
    allow_private: bool,
) -> Webhook:
    caller = policies.require_org(caller)
    unknown = sorted(set(event_types) - EVENT_TYPES - {ALL_TYPES})
    if unknown:
        raise Unprocessable(
            f"Unknown event types {listed(quoted(t) for t in unknown)}; the known ones are "
            f"{listed(sorted(EVENT_TYPES), conjunction='or')}, or * for all.",
            code="unknown_event_type",
        )
    await url_safety.check(url, allow_private=allow_private)
    live = await session.scalar(  # deleted ones stay for the log, but no longer count
        select(func.count())
        .select_from(Webhook)
        .where(Webhook.org_id == caller.org_id, Webhook.status != "deleted")
    )
    if (live or 0) >= MAX_WEBHOOKS_PER_ORG:
        raise Unprocessable(
            f"An organisation has at most {MAX_WEBHOOKS_PER_ORG} webhooks; delete one first.",
            code="too_many_webhooks",
        )
    webhook = Webhook(
        id=uuid.uuid4(),
        org_id=caller.org_id,
        url=url,
        event_types=sorted(set(event_types)),
        secret=new_secret(),
        status="active",
        consecutive_failures=0,
    )
    session.add(webhook)
    await session.flush()
    return webhook


async def list_webhooks(session: AsyncSession, caller: Caller | None) -> list[Webhook]:
    caller = policies.require_org(caller)
    return list(
        await session.scalars(
            select(Webhook)
            .where(Webhook.org_id == caller.org_id, Webhook.status != "deleted")
            .order_by(Webhook.created_at, Webhook.id)
        )
    )


async def owned(
    session: AsyncSession, caller: Caller | None, webhook_id: uuid.UUID, *, lock: bool = False
) -> Webhook:
    caller = policies.require_org(caller)
    webhook = await session.get(Webhook, webhook_id, with_for_update=lock or None)
    if webhook is None or webhook.org_id != caller.org_id or webhook.status == "deleted":
        raise NotFound("webhook", webhook_id)
    return webhook


async def remove(session: AsyncSession, caller: Caller | None, webhook_id: uuid.UUID) -> None:
    """Stop delivering: the row stays (as `deleted`, invisible to its owner) because the
    delivery log refers to it; deliveries not yet made are cancelled."""
    webhook = await owned(session, caller, webhook_id, lock=True)
    webhook.status = "deleted"
    webhook.disabled_reason = "deleted by its owner"
    await session.execute(
        update(Delivery)
        .where(Delivery.webhook_id == webhook.id, Delivery.status == "pending")
        .values(status="cancelled")
    )
    await session.flush()


async def enable(session: AsyncSession, caller: Caller | None, webhook_id: uuid.UUID) -> Webhook:
    webhook = await owned(session, caller, webhook_id, lock=True)
    webhook.status, webhook.consecutive_failures, webhook.disabled_reason = "active", 0, None
    await session.flush()
    return webhook


@dataclass(frozen=True)
class LoggedDelivery:
    delivery: Delivery
    event: Event
    attempts: list[DeliveryAttempt]


async def deliveries(
    session: AsyncSession, caller: Caller | None, webhook_id: uuid.UUID, *, limit: int
) -> list[LoggedDelivery]:
    """The newest deliveries of the webhook, each with its attempts."""
    webhook = await owned(session, caller, webhook_id)
    rows = (
        await session.execute(
            select(Delivery, Event)
            .join(Event, Event.seq == Delivery.event_seq)
            .where(Delivery.webhook_id == webhook.id)
            .order_by(Delivery.created_at.desc(), Delivery.id)
            .limit(limit)
        )
    ).all()
    attempts: dict[uuid.UUID, list[DeliveryAttempt]] = {d.id: [] for d, _ in rows}
    if attempts:
        for attempt in await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(attempts))
            .order_by(DeliveryAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [LoggedDelivery(d, e, attempts[d.id]) for d, e in rows]
