"""Challenges: their tables, and every query and row lock of them.

A challenge's row lock is the lock of everything below it (see `locks`): take it with
`lock`, `lock_together` or, in due work, `try_lock_together`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base
from app.domain.errors import NotFound
from app.domain.store import locks
from app.domain.store.milestones import Milestone
from app.sql.dialect import json_array_has, skip_locked
from app.sql.types import UtcDateTime, utcnow


class Challenge(Base):
    """A shared problem funders pool money for; its steward runs it."""

    __tablename__ = "challenges"
    __table_args__ = (
        Index("ix_challenges_status_created_at", "status", "created_at", "id"),
        Index("ix_challenges_region_country", "region_country"),
        Index("ix_challenges_closes_at", "closes_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    sdg_targets: Mapped[list[str]] = mapped_column(JSON)
    region: Mapped[str | None] = mapped_column(String(10))
    region_country: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))
    steward_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dispute_window_seconds: Mapped[int] = mapped_column(
        Integer, server_default=text("0"), default=0
    )
    # Taken from each pledge's money as it commits to the pool, for the fiscal host.
    host_fee_bps: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)
    host_org_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # an org (checked on create)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ChallengeTarget(Base):
    """One SDG target of a challenge, so that lists filter by goal or target with an index."""

    __tablename__ = "challenge_sdg_targets"
    __table_args__ = (Index("ix_challenge_sdg_targets_goal", "goal", "challenge_id"),)

    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"), primary_key=True)
    target: Mapped[str] = mapped_column(String(8), primary_key=True, index=True)
    goal: Mapped[int] = mapped_column(SmallInteger)


MAX_SEARCH_WORDS = 10


class ChallengeRepository:
    """The challenges table, for one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, challenge_id: uuid.UUID) -> Challenge | None:
        return await self.session.get(Challenge, challenge_id)

    async def get(self, challenge_id: uuid.UUID) -> Challenge:
        challenge = await self.find(challenge_id)
        if challenge is None:
            raise NotFound("challenge", challenge_id)
        return challenge

    async def lock(self, challenge_id: uuid.UUID) -> Challenge:
        """Wait for the challenge's row lock, and re-read the row under it."""
        return (await self.lock_together([challenge_id]))[challenge_id]

    async def lock_for_funder(
        self, challenge_id: uuid.UUID, funder_org_id: uuid.UUID, verifying: Sequence[str]
    ) -> tuple[Challenge, bool]:
        """Wait for the challenge's lock and say, in the same statement, whether this funder
        verifies one of its milestones in these states (a conflict of interest)."""
        locks.took_challenges(self.session, [challenge_id], waited=True)
        verifies = (
            select(Milestone.id)
            .where(
                Milestone.challenge_id == Challenge.id,
                Milestone.status.in_(verifying),
                json_array_has(self.session, Milestone.verifier_org_ids, str(funder_org_id)),
            )
            .exists()
        )
        row = (
            await locks.reread_under_lock(
                self.session,
                select(Challenge, verifies)
                .where(Challenge.id == challenge_id)
                .with_for_update(of=Challenge),
            )
        ).one_or_none()
        if row is None:
            raise NotFound("challenge", challenge_id)
        return row[0], bool(row[1])

    async def lock_together(self, challenge_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Challenge]:
        """Wait for several challenges' locks, in ascending id order (NotFound if one is
        missing)."""
        found = await self.lock_existing(challenge_ids)
        for challenge_id in sorted(set(challenge_ids)):
            if challenge_id not in found:
                raise NotFound("challenge", challenge_id)
        return found

    async def lock_existing(self, challenge_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Challenge]:
        """Wait for the locks of those of these challenges that exist, in ascending id order
        (a batch then says which of its items named a missing one)."""
        ids = sorted(set(challenge_ids))
        locks.took_challenges(self.session, ids, waited=True)
        return await self._locked(ids, wait=True)

    async def try_lock_together(
        self, challenge_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, Challenge] | None:
        """Lock all of these challenges without waiting, or none: None when another
        transaction holds one of them (due work leaves it for its next round)."""
        ids = sorted(set(challenge_ids))
        found = await self._locked(ids, wait=False)
        if len(found) != len(ids):
            return None
        locks.took_challenges(self.session, ids, waited=False)
        return found

    async def _locked(self, ids: list[uuid.UUID], *, wait: bool) -> dict[uuid.UUID, Challenge]:
        query = select(Challenge).where(Challenge.id.in_(ids)).order_by(Challenge.id)
        query = query.with_for_update() if wait else skip_locked(self.session, query)
        rows = (await locks.reread_under_lock(self.session, query)).scalars()
        return {challenge.id: challenge for challenge in rows}

    def add(self, challenge: Challenge, targets: Iterable[tuple[str, int]]) -> None:
        self.session.add(challenge)
        self.session.add_all(
            ChallengeTarget(challenge_id=challenge.id, target=target, goal=goal)
            for target, goal in targets
        )

    async def page(
        self,
        *,
        status: str | None,
        sdg: str | None,
        region: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
        past_draft: bool = False,
        words: Sequence[str] = (),
    ) -> list[Challenge]:
        """Newest first; `sdg` is a goal ("6") or a target ("6.1"); `region` a country or
        subdivision; every one of `words` in the title or description (case-insensitive;
        `%` and `_` match themselves)."""
        query = select(Challenge).order_by(Challenge.created_at.desc(), Challenge.id.desc())
        if status is not None:
            query = query.where(Challenge.status == status)
        if past_draft:
            query = query.where(Challenge.status != "draft")
        if sdg is not None:
            column = ChallengeTarget.goal if sdg.isdigit() else ChallengeTarget.target
            value: int | str = int(sdg) if sdg.isdigit() else sdg
            query = query.where(
                Challenge.id.in_(select(ChallengeTarget.challenge_id).where(column == value))
            )
        if region is not None:
            field = Challenge.region_country if len(region) == 2 else Challenge.region
            query = query.where(field == region)
        for word in words[:MAX_SEARCH_WORDS]:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                Challenge.title.ilike(pattern, escape="\\")
                | Challenge.description.ilike(pattern, escape="\\")
            )
        if after is not None:
            created_at, last_id = after
            query = query.where(
                (Challenge.created_at < created_at)
                | ((Challenge.created_at == created_at) & (Challenge.id < last_id))
            )
        return list(await self.session.scalars(query.limit(limit)))

    async def every_id(self) -> list[uuid.UUID]:
        return list(await self.session.scalars(select(Challenge.id).order_by(Challenge.id)))

    async def titles(self, challenge_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not challenge_ids:
            return {}
        rows = await self.session.execute(
            select(Challenge.id, Challenge.title).where(Challenge.id.in_(challenge_ids))
        )
        return {cid: title for cid, title in rows}

    async def steward_of(self, challenge_id: uuid.UUID) -> uuid.UUID | None:
        """The steward's org id (no query when the challenge is loaded already)."""
        challenge = await self.find(challenge_id)
        return challenge.steward_org_id if challenge is not None else None

    async def count_past_draft_by_currency(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(Challenge.currency, func.count())
            .where(Challenge.status != "draft")
            .group_by(Challenge.currency)
        )
        return {currency: int(count) for currency, count in rows}
