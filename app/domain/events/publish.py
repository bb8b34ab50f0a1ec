"""Write an event in the caller's transaction: the outbox half of every state change."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events.models import Delivery, Event, EventRecipient, Webhook
from app.sql.types import utcnow

ALL_TYPES = "*"
EVENT_TYPES = frozenset(
    {
        "deposit.created",
        "withdrawal.created",
        "challenge.created",
        "challenge.opened",
        "challenge.closed",
        "challenge.cancelled",
        "challenge.completed",
        "pledge.created",
        "pledge.held",
        "pledge.met",
        "pledge.drawn",
        "pledge.released",
        "pledge.expired",
        "pledge.refunded",
        "pledge.rolled_over",
        "bid.submitted",
        "bid.awarded",
        "bid.rejected",
        "bid.withdrawn",
        "claim.submitted",
        "claim.verified",
        "claim.rejected",
        "payout.made",
        "milestone.failed",
        "milestone.not_achieved",
        "milestone.retendered",
        "attestation.recorded",
    }
)


async def _txid(session: AsyncSession) -> int:
    """The writing transaction's id, asked once per session (one session is one
    transaction: a retried unit of work starts with a fresh session)."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    if "event_txid" not in session.info:
        txid = await session.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
        session.info["event_txid"] = int(txid or 0)
    return int(session.info["event_txid"])


async def emit(
    session: AsyncSession,
    event_type: str,
    data: dict[str, Any],
    *,
    orgs: Iterable[uuid.UUID | None] = (),
    public: bool = False,
) -> Event:
    """Record that `event_type` happened, for `orgs` (and everyone, if public), and queue
    it for every active webhook that asked for it. Same transaction as the change."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    recipients = sorted({org for org in orgs if org is not None})
    event = Event(
        id=uuid.uuid4(),
        txid=await _txid(session),
        type=event_type,
        public=public,
        data=data,
        created_at=utcnow(),
    )
    session.add(event)
    await session.flush()
    if recipients:
        await session.execute(
            insert(EventRecipient),
            [{"event_seq": event.seq, "org_id": org} for org in recipients],
        )
    hooks = select(Webhook.id, Webhook.event_types).where(Webhook.status == "active")
    if not public:
        hooks = hooks.where(Webhook.org_id.in_(recipients))
    wanted = [
        hook_id
        for hook_id, types in await session.execute(hooks)
        if event_type in types or ALL_TYPES in types
    ]
    if wanted:
        now = utcnow()
        await session.execute(
            insert(Delivery),
            [
                {
                    "id": uuid.uuid4(),
                    "webhook_id": hook_id,
                    "event_seq": event.seq,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for hook_id in sorted(wanted)
            ],
        )
    return event
