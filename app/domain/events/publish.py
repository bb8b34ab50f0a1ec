"""Record an event in the caller's transaction: the outbox half of every state change.

`emit` only queues the event on the session; the unit of work writes every queued event,
its recipients and one delivery per matching webhook together, last in the same transaction
(app/domain/commit_bundle.py, run before commit by app.db.Database.transaction), in one
statement on PostgreSQL. When the change commits its events exist; when it rolls back none
of them ever did.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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
        "claim.disputed",
        "fee.paid",
        "dispute.panel_assigned",
        "dispute.resolved",
        "payout.made",
        "milestone.failed",
        "milestone.not_achieved",
        "milestone.retendered",
        "attestation.recorded",
        "round.created",
        "round.closed",
        "bonus.created",
        "bonus.paid",
        "bonus.returned",
    }
)
_PENDING_KEY = "tributary_events"


@dataclass(frozen=True)
class PendingEvent:
    """An event of this transaction, not yet written."""

    id: uuid.UUID
    type: str
    public: bool
    data: dict[str, Any]
    recipients: tuple[uuid.UUID, ...]
    created_at: datetime = field(default_factory=utcnow)


def pending(session: AsyncSession) -> list[PendingEvent]:
    """The events this transaction has emitted so far, oldest first."""
    queued = session.info.setdefault(_PENDING_KEY, [])
    assert isinstance(queued, list)
    return queued


def take_pending(session: AsyncSession) -> list[PendingEvent]:
    """The queued events, leaving none (the writer takes them once)."""
    return session.info.pop(_PENDING_KEY, [])  # type: ignore[no-any-return]


async def emit(
    session: AsyncSession,
    event_type: str,
    data: dict[str, Any],
    *,
    orgs: Iterable[uuid.UUID | None] = (),
    public: bool = False,
) -> PendingEvent:
    """Record that `event_type` happened, for `orgs` (and everyone, if public); it is
    written, with a delivery for every active webhook that asked for it, when the unit of
    work commits."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    recipients = tuple(sorted({org for org in orgs if org is not None}))
    event = PendingEvent(uuid.uuid4(), event_type, public, data, recipients)
    pending(session).append(event)
    return event
