"""Bids: their table, and every query and row lock of it.

A bid's row is locked only under its challenge's lock, after its milestone's (see `locks`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base
from app.domain.errors import NotFound
from app.domain.store import locks
from app.domain.store.swarms import SwarmRepository
from app.sql.types import UtcDateTime, utcnow


class Bid(Base):
    __tablename__ = "bids"
    __table_args__ = (Index("ix_bids_milestone_id_created_at", "milestone_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    milestone_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("milestones.id"))
    swarm_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("swarms.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    plan: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Price per outcome (delivery.per_unit): amount = unit_price x max_units, paid per unit.
    pricing: Mapped[str] = mapped_column(String(16), default="lump_sum", server_default="lump_sum")
    unit_price: Mapped[int | None] = mapped_column(BigInteger)
    max_units: Mapped[int | None] = mapped_column(BigInteger)


class BidRepository:
    """The bids table, for one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, bid: Bid) -> None:
        self.session.add(bid)

    async def get(self, bid_id: uuid.UUID) -> Bid:
        bid = await self.session.get(Bid, bid_id)
        if bid is None:
            raise NotFound("bid", bid_id)
        return bid

    async def swarms_of_bids(self, bid_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """Bid id -> the bidding swarm's id, for many bids in one query."""
        if not bid_ids:
            return {}
        rows = await self.session.execute(
            select(Bid.id, Bid.swarm_id).where(Bid.id.in_(sorted(set(bid_ids))))
        )
        return {bid_id: swarm_id for bid_id, swarm_id in rows}

    async def swarm_of(self, bid_id: uuid.UUID | None) -> uuid.UUID | None:
        if bid_id is None:
            return None
        return (await self.get(bid_id)).swarm_id

    async def of_milestone(
        self, milestone_id: uuid.UUID, *, member: uuid.UUID | None = None, everyone: bool = True
    ) -> list[Bid]:
        """The milestone's bids, oldest first; unless `everyone`, only those of swarms that
        `member` belongs to."""
        query = select(Bid).where(Bid.milestone_id == milestone_id).order_by(Bid.created_at, Bid.id)
        if not everyone:
            query = query.where(Bid.swarm_id.in_(SwarmRepository.swarms_of(member)))
        return list(await self.session.scalars(query))

    async def lock_of_milestones(
        self, milestone_ids: Iterable[uuid.UUID], *, challenge_id: uuid.UUID, status: str | None
    ) -> list[Bid]:
        """The bids on these milestones of one challenge (in a state, if given), by id,
        under their row locks; the challenge's lock must be held."""
        locks.took(self.session, locks.Level.BID, challenge_id)
        query = (
            select(Bid)
            .where(Bid.milestone_id.in_(list(milestone_ids)))
            .order_by(Bid.id)
            .with_for_update()
        )
        if status is not None:
            query = query.where(Bid.status == status)
        return list((await locks.reread_under_lock(self.session, query)).scalars())

    async def amounts_of(self, bid_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        if not bid_ids:
            return {}
        rows = await self.session.execute(select(Bid.id, Bid.amount).where(Bid.id.in_(bid_ids)))
        return {bid_id: int(amount) for bid_id, amount in rows}

    async def swarms_bidding_on(self, milestone_id: uuid.UUID) -> list[uuid.UUID]:
        """Every swarm that ever bid on the milestone (conflicts of interest)."""
        rows = await self.session.scalars(
            select(Bid.swarm_id).where(Bid.milestone_id == milestone_id).distinct()
        )
        return sorted(rows)
