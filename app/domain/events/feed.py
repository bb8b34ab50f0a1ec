"""The event feed: an organisation's events, oldest first, by an unbroken cursor.

Events are ordered by (writer's transaction id, sequence). A reader only returns events of
transactions older than every transaction still running in this database, so an event that
commits late can never land behind a cursor a client already holds. Transactions of other
databases of the same PostgreSQL cluster cannot write our events, so they do not hold the
feed back (the snapshot's in-progress ids are matched to this database's sessions through
pg_stat_activity, which shows them for sessions of the reader's own role: every process that
writes events connects as one role, or holds pg_read_all_stats).
"""

from __future__ import annotations

import uuid

from sqlalchemy import and_, exists, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.errors import Unprocessable
from app.domain.events.models import Event, EventRecipient
from app.domain.identity.caller import Caller
from app.sql.dialect import is_postgres

MAX_PAGE = 200


XID_WRAP = 2**32  # a 64-bit transaction id (xid8) is the epoch and a 32-bit xid

_SNAPSHOT = text(
    "SELECT pg_snapshot_xmax(s)::text::bigint, "
    "ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x) "
    "FROM pg_current_snapshot() AS s"
)
_OURS = text(
    "SELECT backend_xid::text::bigint FROM pg_stat_activity "
    "WHERE datname = current_database() AND backend_xid IS NOT NULL "
    "UNION SELECT transaction::text::bigint FROM pg_prepared_xacts "
    "WHERE database = current_database()"
)


async def _horizon(session: AsyncSession) -> int | None:
    """The oldest transaction id still running in this database (or the next id to be
    assigned if none is): every event below it has committed or never will. The snapshot is
    taken first, so an id it lists as running was assigned before the sessions are read."""
    if not is_postgres(session):
        return None
    xmax, running = (await session.execute(_SNAPSHOT)).one()
    ours = set((await session.scalars(_OURS)).all())
    here = [xid for xid in running or [] if xid % XID_WRAP in ours]
    return int(min(here, default=xmax))


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
