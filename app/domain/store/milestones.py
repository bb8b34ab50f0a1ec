"""Milestones: their table, and every query and row lock of it.

A milestone's row is locked only under its challenge's lock (see `locks`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base
from app.domain.errors import NotFound
from app.domain.store import locks
from app.sql.types import UtcDateTime, utcnow

MAX_LINEAGE = 100  # re-tenders of re-tenders followed for earmarks
DEFAULT_VERIFICATION_WINDOW_SECONDS = 604_800  # a week for verifiers after the due date


class Milestone(Base):
    """A measurable outcome of a challenge that a swarm can bid on and be paid for."""

    __tablename__ = "milestones"
    __table_args__ = (
        Index("ix_milestones_challenge_id_created_at", "challenge_id", "created_at"),
        Index("ix_milestones_retender_of", "retender_of"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(50))
    target: Mapped[int] = mapped_column(BigInteger)
    payout_rule: Mapped[str] = mapped_column(String(16))
    budget_cap: Mapped[int] = mapped_column(BigInteger)
    quorum: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16))
    verifier_org_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    awarded_bid_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    verification_window_seconds: Mapped[int] = mapped_column(
        Integer, server_default=text("604800"), default=DEFAULT_VERIFICATION_WINDOW_SECONDS
    )
    sdg_targets: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"), default=list)
    retender_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # When a verified milestone in its challenge's dispute window pays (null otherwise).
    pays_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # Paid to each assigned verifier that attests, escrowed from the pledges when assigned.
    verifier_fee: Mapped[int] = mapped_column(BigInteger, server_default=text("0"), default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MilestoneRepository:
    """The milestones table, for one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, milestone: Milestone) -> None:
        self.session.add(milestone)

    async def find(self, milestone_id: uuid.UUID) -> Milestone | None:
        return await self.session.get(Milestone, milestone_id)

    async def get(self, milestone_id: uuid.UUID) -> Milestone:
        milestone = await self.find(milestone_id)
        if milestone is None:
            raise NotFound("milestone", milestone_id)
        return milestone

    async def lock(self, milestone_id: uuid.UUID, *, challenge_id: uuid.UUID) -> Milestone:
        """The milestone, re-read under its row lock; its challenge's lock must be held."""
        locks.took(self.session, locks.Level.MILESTONE, challenge_id)
        milestone = (
            await locks.reread_under_lock(
                self.session,
                select(Milestone)
                .where(Milestone.id == milestone_id, Milestone.challenge_id == challenge_id)
                .with_for_update(),
            )
        ).scalar_one_or_none()
        if milestone is None:
            raise NotFound("milestone", milestone_id)
        return milestone

    async def of_challenge(self, challenge_id: uuid.UUID, *, lock: bool = False) -> list[Milestone]:
        """The challenge's milestones, oldest first (locked: its lock must be held)."""
        query = (
            select(Milestone)
            .where(Milestone.challenge_id == challenge_id)
            .order_by(Milestone.created_at, Milestone.id)
        )
        if lock:
            locks.took(self.session, locks.Level.MILESTONE, challenge_id)
            return list(
                (await locks.reread_under_lock(self.session, query.with_for_update())).scalars()
            )
        return list(await self.session.scalars(query))

    async def awarded_of_challenges(
        self, challenge_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, list[Milestone]]:
        """The ever-awarded milestones of many challenges, by challenge, in one query."""
        found: dict[uuid.UUID, list[Milestone]] = {}
        rows = await self.session.scalars(
            select(Milestone)
            .where(
                Milestone.challenge_id.in_(list(challenge_ids)),
                Milestone.awarded_bid_id.is_not(None),
            )
            .order_by(Milestone.id)
        )
        for milestone in rows:
            found.setdefault(milestone.challenge_id, []).append(milestone)
        return found

    async def with_fees_of_challenges(
        self, challenge_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, list[Milestone]]:
        """The milestones with a verifier fee of many challenges, by challenge, in one query."""
        found: dict[uuid.UUID, list[Milestone]] = {}
        rows = await self.session.scalars(
            select(Milestone)
            .where(Milestone.challenge_id.in_(list(challenge_ids)), Milestone.verifier_fee > 0)
            .order_by(Milestone.id)
        )
        for milestone in rows:
            found.setdefault(milestone.challenge_id, []).append(milestone)
        return found

    async def retendered_as(self, milestone_id: uuid.UUID) -> Milestone | None:
        """The milestone that re-tenders this one, if any."""
        return await self.session.scalar(
            select(Milestone).where(Milestone.retender_of == milestone_id).limit(1)
        )

    async def lineage(self, milestone: Milestone) -> list[uuid.UUID]:
        """The milestone and every milestone it re-tenders, newest first (bounded: a chain
        of re-tenders longer than MAX_LINEAGE is cut there)."""
        chain = [milestone.id]
        current = milestone.retender_of
        while current is not None and len(chain) < MAX_LINEAGE:
            chain.append(current)
            current = await self.session.scalar(
                select(Milestone.retender_of).where(Milestone.id == current)
            )
        return chain

    async def ids_in_challenge(
        self, challenge_id: uuid.UUID, milestone_ids: Iterable[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of these ids are milestones of the challenge."""
        rows = await self.session.scalars(
            select(Milestone.id).where(
                Milestone.id.in_(list(milestone_ids)), Milestone.challenge_id == challenge_id
            )
        )
        return set(rows)

    async def overdue(self, now: datetime, statuses: Sequence[str], limit: int) -> list[Milestone]:
        """Milestones in these states whose due date passed, earliest first (due work)."""
        return list(
            await self.session.scalars(
                select(Milestone)
                .where(Milestone.status.in_(statuses), Milestone.due_at <= now)
                .order_by(Milestone.due_at, Milestone.id)
                .limit(limit)
            )
        )

    async def payable(self, now: datetime, limit: int) -> list[Milestone]:
        """Milestones whose dispute window closed undisputed, earliest first (due work)."""
        return list(
            await self.session.scalars(
                select(Milestone)
                .where(Milestone.pays_at <= now, Milestone.status == "payout_pending")
                .order_by(Milestone.pays_at, Milestone.id)
                .limit(limit)
            )
        )

    async def titles(self, milestone_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not milestone_ids:
            return {}
        rows = await self.session.execute(
            select(Milestone.id, Milestone.title).where(Milestone.id.in_(milestone_ids))
        )
        return {mid: title for mid, title in rows}

    async def challenge_of_each(self) -> dict[uuid.UUID, uuid.UUID]:
        """Every milestone's challenge (reconciliation of the flow rollup)."""
        rows = await self.session.execute(select(Milestone.id, Milestone.challenge_id))
        return {mid: cid for mid, cid in rows}

    async def in_states(self, statuses: Sequence[str]) -> list[Milestone]:
        """Every milestone in these states (the books' checks)."""
        return list(
            await self.session.scalars(select(Milestone).where(Milestone.status.in_(statuses)))
        )
