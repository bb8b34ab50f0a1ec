"""Assurance bonuses: their table, and every query of it.

A bonus's money lives in its ledger account (`chart.bonus_account`); `remaining` mirrors it
for cheap reads and is written only in the transaction that moves the money, under the
challenge's row lock (see `locks`): the challenge lock is the lock of every row below it, so
bonus rows need no lock of their own.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Uuid, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base
from app.domain.errors import invariant
from app.domain.store import locks
from app.domain.store.challenges import Challenge
from app.sql.types import UtcDateTime, utcnow

BONUS_STATUSES = ("active", "returned")


class AssuranceBonus(Base):
    """A sponsor's escrow that pays threshold pledgers of one challenge whose threshold was
    missed: `bonus_bps` of the pledge, while `remaining` lasts."""

    __tablename__ = "assurance_bonuses"
    __table_args__ = (
        Index("ix_assurance_bonuses_challenge_id_created_at", "challenge_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"))
    sponsor_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    bonus_bps: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BonusRepository:
    """The assurance bonuses table, for one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, bonus: AssuranceBonus) -> None:
        self.session.add(bonus)

    async def of_challenge(self, challenge_id: uuid.UUID) -> list[AssuranceBonus]:
        """Every bonus of the challenge, oldest first (a read: no lock)."""
        query = (
            select(AssuranceBonus)
            .where(AssuranceBonus.challenge_id == challenge_id)
            .order_by(AssuranceBonus.created_at, AssuranceBonus.id)
        )
        return list(await self.session.scalars(query))

    async def active_under_lock(self, challenge_id: uuid.UUID) -> list[AssuranceBonus]:
        """The challenge's active bonuses, oldest first, re-read under the challenge's lock
        (which the caller must hold: it is what keeps `remaining` true until written)."""
        invariant(
            locks.holds_challenge(self.session, challenge_id),
            f"bonuses of challenge {challenge_id} read for a change without its lock",
        )
        query = (
            select(AssuranceBonus)
            .where(AssuranceBonus.challenge_id == challenge_id, AssuranceBonus.status == "active")
            .order_by(AssuranceBonus.created_at, AssuranceBonus.id)
        )
        return list((await locks.reread_under_lock(self.session, query)).scalars())

    async def count_of_challenge(self, challenge_id: uuid.UUID) -> int:
        query = select(func.count()).where(AssuranceBonus.challenge_id == challenge_id)
        return int(await self.session.scalar(query) or 0)

    async def every_with_challenge_status(self) -> list[tuple[AssuranceBonus, str]]:
        """Every bonus with its challenge's status (the market audit's read), by id."""
        query = (
            select(AssuranceBonus, Challenge.status)
            .join(Challenge, Challenge.id == AssuranceBonus.challenge_id)
            .order_by(AssuranceBonus.id)
        )
        return [(bonus, status) for bonus, status in (await self.session.execute(query)).all()]
