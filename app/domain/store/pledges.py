"""Pledges: their table, and every query and row lock of it.

Money amounts of a pledge live in the ledger, not here. A pledge's row is locked only under
its challenge's lock (see `locks`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    func,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from app.domain.base import Base
from app.domain.errors import NotFound
from app.domain.store import locks
from app.sql.types import UtcDateTime, utcnow

LIVE_STATUSES = ("held", "active", "exhausted")
ENDED_STATUSES = ("released", "expired", "refunded")
FUNDED_STATUSES = ("active", "exhausted", "expired", "refunded")


class Pledge(Base):
    """A funder's commitment to a challenge, on the funder's terms.

    `amount` is what the funder committed (the cap, for a match pledge); how much of it is
    held, available, allocated, paid or returned is read from the pledge's ledger account.
    `hold_entry_id` names the open pending ledger entry of a held or partly drawn pledge.
    """

    __tablename__ = "pledges"
    __table_args__ = (
        Index("ix_pledges_challenge_id_status", "challenge_id", "status"),
        Index("ix_pledges_funder_org_id_created_at", "funder_org_id", "created_at", "id"),
        Index("ix_pledges_status_deadline", "status", "deadline"),
        Index("ix_pledges_status_expires_at", "status", "expires_at"),
        Index(
            "ix_pledges_challenge_id_holding",
            "challenge_id",
            postgresql_where=text("hold_entry_id IS NOT NULL"),
            sqlite_where=text("hold_entry_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"))
    funder_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    threshold_amount: Mapped[int | None] = mapped_column(BigInteger)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    match_ratio_bps: Mapped[int | None] = mapped_column(Integer)
    earmark_milestone_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    earmark_sdg_targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    on_expiry: Mapped[str] = mapped_column(String(16), default="refund")
    on_completion: Mapped[str] = mapped_column(
        String(16), server_default="refund", default="refund"
    )
    rollover_challenge_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    rolled_into_pledge_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    hold_sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


@dataclass(frozen=True, slots=True)
class PledgeOwner:
    """Whose a pledge is, and where: what the public books need of it."""

    challenge_id: uuid.UUID
    funder_org_id: uuid.UUID
    anonymous: bool


class PledgeRepository:
    """The pledges table, for one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, pledge: Pledge) -> None:
        self.session.add(pledge)

    async def find(self, pledge_id: uuid.UUID) -> Pledge | None:
        return await self.session.get(Pledge, pledge_id)

    async def get(self, pledge_id: uuid.UUID) -> Pledge:
        pledge = await self.find(pledge_id)
        if pledge is None:
            raise NotFound("pledge", pledge_id)
        return pledge

    async def _locked(
        self, challenge_id: uuid.UUID, condition: ColumnElement[bool], *order: object
    ) -> list[Pledge]:
        locks.took(self.session, locks.Level.PLEDGE, challenge_id)
        query = (
            select(Pledge)
            .where(Pledge.challenge_id == challenge_id, condition)
            .order_by(*(order or (Pledge.created_at, Pledge.id)))  # type: ignore[arg-type]
            .with_for_update()
        )
        return list((await locks.reread_under_lock(self.session, query)).scalars())

    async def lock(self, pledge_id: uuid.UUID, *, challenge_id: uuid.UUID) -> Pledge:
        """One pledge, re-read under its row lock; its challenge's lock must be held."""
        found = await self._locked(challenge_id, Pledge.id == pledge_id)
        if not found:
            raise NotFound("pledge", pledge_id)
        return found[0]

    async def lock_ids(
        self, challenge_id: uuid.UUID, pledge_ids: Iterable[uuid.UUID]
    ) -> list[Pledge]:
        """These pledges of the challenge, re-read under their row locks, by id."""
        wanted = sorted(set(pledge_ids))
        if not wanted:
            return []
        return await self._locked(challenge_id, Pledge.id.in_(wanted), Pledge.id)

    async def lock_live(self, challenge_id: uuid.UUID) -> list[Pledge]:
        """The challenge's pledges that can still hold money (held, active, exhausted)."""
        return await self._locked(challenge_id, Pledge.status.in_(LIVE_STATUSES))

    async def lock_holding(self, challenge_id: uuid.UUID) -> list[Pledge]:
        """The challenge's pledges with an open hold (unmet thresholds, undrawn match caps):
        the only ones new money can move, found by a partial index however many pledges the
        challenge has."""
        return await self._locked(challenge_id, Pledge.hold_entry_id.is_not(None))

    async def lock_fundable(self, challenge_id: uuid.UUID) -> list[Pledge]:
        """The challenge's pledges that may hold available money, by id (awards)."""
        return await self._locked(
            challenge_id, Pledge.status.in_(("active", "exhausted")), Pledge.id
        )

    async def completion_targets(self, challenge_id: uuid.UUID) -> set[uuid.UUID]:
        """The challenges the live pledges of this one roll over into at its completion."""
        rows = await self.session.scalars(
            select(Pledge.rollover_challenge_id).where(
                Pledge.challenge_id == challenge_id,
                Pledge.status.in_(LIVE_STATUSES),
                Pledge.on_completion == "rollover",
                Pledge.rollover_challenge_id.is_not(None),
            )
        )
        return {target for target in rows if target is not None}

    async def funders_of_challenge(self, challenge_id: uuid.UUID) -> set[uuid.UUID]:
        """Every organisation that ever pledged to the challenge (conflicts of interest)."""
        rows = await self.session.scalars(
            select(Pledge.funder_org_id).where(Pledge.challenge_id == challenge_id).distinct()
        )
        return set(rows)

    async def ids_of_challenge(self, challenge_id: uuid.UUID) -> list[uuid.UUID]:
        return list(
            await self.session.scalars(
                select(Pledge.id).where(Pledge.challenge_id == challenge_id).order_by(Pledge.id)
            )
        )

    async def funders_of(self, pledge_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        rows = await self.session.scalars(
            select(Pledge.funder_org_id).where(Pledge.id.in_(list(pledge_ids)))
        )
        return set(rows)

    async def page_of_funder(
        self, funder_org_id: uuid.UUID, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Pledge]:
        """The funder's pledges, oldest first, after a (created_at, id) position."""
        query = (
            select(Pledge)
            .where(Pledge.funder_org_id == funder_org_id)
            .order_by(Pledge.created_at, Pledge.id)
            .limit(limit)
        )
        if after is not None:
            created_at, last_id = after
            query = query.where(
                (Pledge.created_at > created_at)
                | ((Pledge.created_at == created_at) & (Pledge.id > last_id))
            )
        return list(await self.session.scalars(query))

    async def due(
        self, column: InstrumentedAttribute[datetime | None], now: datetime, limit: int
    ) -> list[Pledge]:
        """Live pledges whose `column` (deadline, expires_at) has passed, earliest first."""
        return list(
            await self.session.scalars(
                select(Pledge)
                .where(Pledge.status.in_(LIVE_STATUSES), column <= now)
                .order_by(column, Pledge.id)
                .limit(limit)
            )
        )

    async def owners(self) -> dict[uuid.UUID, PledgeOwner]:
        """Every pledge's challenge, funder and anonymity (reconciliation of the rollup)."""
        rows = await self.session.execute(
            select(Pledge.id, Pledge.challenge_id, Pledge.funder_org_id, Pledge.anonymous)
        )
        return {pid: PledgeOwner(cid, funder, anon) for pid, cid, funder, anon in rows}

    async def holding_of(
        self, challenge_ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        """(pledge id, challenge id, currency) of the pledges with an open hold."""
        rows = await self.session.execute(
            select(Pledge.id, Pledge.challenge_id, Pledge.currency).where(
                Pledge.challenge_id.in_(challenge_ids), Pledge.hold_entry_id.is_not(None)
            )
        )
        return [(pid, cid, currency) for pid, cid, currency in rows]

    async def with_terms_of_challenge(self, challenge_id: uuid.UUID, limit: int) -> list[Pledge]:
        """The challenge's pledges that carry terms the public should see (a threshold, a
        match cap, an expiry), oldest first, at most `limit` (the dashboard)."""
        query = (
            select(Pledge)
            .where(
                Pledge.challenge_id == challenge_id,
                (Pledge.kind != "direct") | Pledge.expires_at.is_not(None),
            )
            .order_by(Pledge.created_at, Pledge.id)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def named_of_funder(self, funder_org_id: uuid.UUID, limit: int) -> list[Pledge]:
        """The funder's pledges made in its own name (never its anonymous ones), oldest first,
        at most `limit` (its public page)."""
        query = (
            select(Pledge)
            .where(Pledge.funder_org_id == funder_org_id, Pledge.anonymous.is_(False))
            .order_by(Pledge.created_at, Pledge.id)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def every(self) -> list[Pledge]:
        """Every pledge (the books' checks)."""
        return list(await self.session.scalars(select(Pledge).order_by(Pledge.id)))

    async def in_states(self, statuses: Sequence[str]) -> list[Pledge]:
        """Every pledge in these states (the books' checks)."""
        return list(await self.session.scalars(select(Pledge).where(Pledge.status.in_(statuses))))

    async def count_funders_by_currency(self) -> dict[str, int]:
        """Distinct funders whose money reached a pledge, per currency."""
        rows = await self.session.execute(
            select(Pledge.currency, func.count(Pledge.funder_org_id.distinct()))
            .where(Pledge.status.in_(FUNDED_STATUSES))
            .group_by(Pledge.currency)
        )
        return {currency: int(count) for currency, count in rows}
