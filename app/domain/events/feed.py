"""The event feed: an organisation's events, oldest first, by an unbroken cursor.

Events are ordered by (writer's transaction id, sequence). A reader only returns events of
transactions older than every transaction still running (PostgreSQL's snapshot xmin), so an
event that commits late can never land behind a cursor a client already holds.
"""

from __future__ import annotations

import uuid

from sqlalchemy import and_, exists, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.errors import Unprocessable
from app.domain.events.models import Event, EventRecipient
from app.domain.identity.caller import Caller

MAX_PAGE = 200


async def _horizon(session: AsyncSession) -> int | None:
    if session.get_bind().dialect.name != "postgresql":
        return None
    return int(
        await session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        or 0
    )


async def events_for(
    session: AsyncSession, caller: Caller | None, *, after: uuid.UUID | None, limit: int
) -> list[Event]:
    caller = policies.require_caller(caller)
    query = select(Event).order_by(Event.txid, Event.seq).limit(max(1, min(limit, MAX_PAGE)))
    if not caller.is_admin:
        mine = exists().where(
            EventRecipient.event_seq == Event.seq, EventRecipient.org_id == caller.org_id
        )
        query = query.where(or_(Event.public, mine))
    if after is not None:
        position = (
            await session.execute(select(Event.txid, Event.seq).where(Event.id == after))
        ).one_or_none()
        if position is None:
            raise Unprocessable(f"No event {after} to continue after.", code="unknown_cursor")
        txid, seq = position
        query = query.where(or_(Event.txid > txid, and_(Event.txid == txid, Event.seq > seq)))
    horizon = await _horizon(session)
    if horizon is not None:
        query = query.where(Event.txid < horizon)
    return list(await session.scalars(query))
