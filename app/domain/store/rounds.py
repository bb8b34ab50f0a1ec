"""Matching rounds: their tables, and every query and row lock of them.

A round's row lock comes before the locks of its challenges: closing a round locks the
round, then its challenges in ascending id order (store.locks), then their pledges. No
path takes a round's lock while holding a challenge's (a pledge never touches a round: a
round reads its contributions from the pledges when it is shown or closed), so rounds
never take part in a lock cycle.

The contributions of a round are read, not stored: each listed challenge's direct pledges
made between `starts_at` and `ends_at` that still hold or spent their money (`active`,
`exhausted`; a refunded or expired pledge gave its money back), summed per funding
organisation, leaving out the pledges that rounds themselves made.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Uuid,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base
from app.domain.errors import NotFound
from app.domain.store.challenges import Challenge
from app.domain.store.milestones import Milestone
from app.domain.store.pledges import Pledge
from app.sql.dialect import json_array_has, skip_locked
from app.sql.types import UtcDateTime, utcnow

COUNTED_STATUSES = ("active", "exhausted")


class Round(Base):
    """A sponsor's matching pool for a set of challenges over a time window."""

    __tablename__ = "rounds"
    __table_args__ = (Index("ix_rounds_status_ends_at", "status", "ends_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    sponsor_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    matching_pool: Mapped[int] = mapped_column(BigInteger)
    floor_bps: Mapped[int] = mapped_column(SmallInteger)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    returned: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RoundChallenge(Base):
    """One challenge of a round; what it drew and was matched is frozen here at close."""

    __tablename__ = "round_challenges"
    __table_args__ = (
        Index("ix_round_challenges_challenge_id", "challenge_id"),
        Index("ix_round_challenges_pledge_id", "pledge_id"),
    )

    round_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    contributors: Mapped[int | None] = mapped_column(Integer)
    contributed: Mapped[int | None] = mapped_column(BigInteger)
    matched: Mapped[int | None] = mapped_column(BigInteger)
    pledge_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


# Serves the contributions query: a listed challenge's pledges by creation time.
Index("ix_pledges_challenge_id_created_at", Pledge.challenge_id, Pledge.created_at)


@dataclass(frozen=True)
class Listed:
    """A challenge of a round as the round's page needs it."""

    row: RoundChallenge
    status: str
    title: str


FunderTotals = dict[uuid.UUID, dict[uuid.UUID, int]]  # challenge -> funder -> total


class RoundRepository:
    """The rounds tables, for one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, round_: Round, challenge_ids: Sequence[uuid.UUID]) -> None:
        self.session.add(round_)
        self.session.add_all(
            RoundChallenge(round_id=round_.id, challenge_id=challenge_id, position=position)
            for position, challenge_id in enumerate(challenge_ids)
        )

    async def get(self, round_id: uuid.UUID) -> Round:
        found = await self.session.get(Round, round_id)
        if found is None:
            raise NotFound("round", round_id)
        return found

    async def challenges(self, challenge_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Challenge]:
        """Those of these challenges that exist (one query)."""
        rows = await self.session.scalars(select(Challenge).where(Challenge.id.in_(challenge_ids)))
        return {challenge.id: challenge for challenge in rows}

    async def lock(self, round_id: uuid.UUID, *, wait: bool) -> Round | None:
        """The round re-read under its row lock; without waiting (due work), None when
        another transaction holds it."""
        query = select(Round).where(Round.id == round_id)
        query = query.with_for_update() if wait else skip_locked(self.session, query)
        await self.session.flush()
        result = await self.session.execute(query.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def listed(self, round_id: uuid.UUID) -> list[Listed]:
        """The round's challenges in the order given, with their status and title (one query)."""
        return (await self.with_listed(round_id))[1]

    async def with_listed(self, round_id: uuid.UUID) -> tuple[Round, list[Listed]]:
        """The round and its challenges in the order given, with their status and title, in
        one query (the public read is this and the contributions: two queries)."""
        rows = list(
            await self.session.execute(
                select(Round, RoundChallenge, Challenge.status, Challenge.title)
                .join(RoundChallenge, RoundChallenge.round_id == Round.id)
                .join(Challenge, Challenge.id == RoundChallenge.challenge_id)
                .where(Round.id == round_id)
                .order_by(RoundChallenge.position)
            )
        )
        if not rows:
            raise NotFound("round", round_id)
        return rows[0][0], [Listed(row, status, title) for _, row, status, title in rows]

    async def contributions(
        self, round_: Round, challenge_ids: Sequence[uuid.UUID]
    ) -> FunderTotals:
        """Each listed challenge's contributions, summed per funder (one query)."""
        made_by_rounds = select(RoundChallenge.pledge_id).where(
            RoundChallenge.pledge_id.is_not(None)
        )
        rows = await self.session.execute(
            select(Pledge.challenge_id, Pledge.funder_org_id, func.sum(Pledge.amount))
            .where(
                Pledge.challenge_id.in_(challenge_ids),
                Pledge.created_at >= round_.starts_at,
                Pledge.created_at < round_.ends_at,
                Pledge.kind == "direct",
                Pledge.status.in_(COUNTED_STATUSES),
                Pledge.id.not_in(made_by_rounds),
            )
            .group_by(Pledge.challenge_id, Pledge.funder_org_id)
        )
        totals: FunderTotals = {challenge_id: {} for challenge_id in challenge_ids}
        for challenge_id, funder_id, total in rows:
            totals[challenge_id][funder_id] = int(total)
        return totals

    async def every_pool(self) -> list[tuple[uuid.UUID, str, int]]:
        """(id, status, matching pool) of every round, for the market's audit."""
        rows = await self.session.execute(
            select(Round.id, Round.status, Round.matching_pool).order_by(Round.id)
        )
        return [(round_id, status, int(pool)) for round_id, status, pool in rows]

    async def due(self, now: datetime, limit: int) -> list[uuid.UUID]:
        """Open rounds whose end has come, soonest first."""
        rows = await self.session.scalars(
            select(Round.id)
            .where(Round.status == "open", Round.ends_at <= now)
            .order_by(Round.ends_at, Round.id)
            .limit(limit)
        )
        return list(rows)

    async def verified_by(
        self, challenge_ids: Sequence[uuid.UUID], org_id: uuid.UUID, verifying: Sequence[str]
    ) -> set[uuid.UUID]:
        """Those of these challenges with a milestone in `verifying` states that this
        organisation verifies: it may not fund them (a conflict of interest)."""
        rows = await self.session.scalars(
            select(Milestone.challenge_id)
            .where(
                Milestone.challenge_id.in_(challenge_ids),
                Milestone.status.in_(verifying),
                json_array_has(self.session, Milestone.verifier_org_ids, str(org_id)),
            )
            .distinct()
        )
        return set(rows)

    async def open_rounds_of(self, challenge_id: uuid.UUID, now: datetime) -> list[Round]:
        """Open rounds listing this challenge whose window has begun (the challenge page)."""
        rows = await self.session.scalars(
            select(Round)
            .join(RoundChallenge, RoundChallenge.round_id == Round.id)
            .where(
                RoundChallenge.challenge_id == challenge_id,
                Round.status == "open",
                Round.starts_at <= now,
            )
            .order_by(Round.ends_at, Round.id)
            .limit(5)
        )
        return list(rows)
