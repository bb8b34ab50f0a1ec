"""Claims, attestations and payouts: the tables, and every query of them.

Claims and attestations change only under their milestone's row lock, which serialises
them; they need no locks of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base
from app.domain.errors import NotFound
from app.sql.types import UtcDateTime, utcnow


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_milestone_id_created_at", "milestone_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    milestone_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("milestones.id"))
    bid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bids.id"))
    status: Mapped[str] = mapped_column(String(16))
    reported_value: Mapped[int] = mapped_column(BigInteger)
    evidence: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    verify_by: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Attestation(Base):
    __tablename__ = "attestations"
    __table_args__ = (UniqueConstraint("claim_id", "verifier_org_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    verifier_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    verdict: Mapped[str] = mapped_column(String(8))
    value: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    counted: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Payout(Base):
    """The verified outcome of a milestone and what it paid (amounts are in the ledger too)."""

    __tablename__ = "payouts"

    milestone_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("milestones.id"), primary_key=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    outcome_value: Mapped[str] = mapped_column(String(40))
    outcome_fraction: Mapped[str] = mapped_column(String(40))
    splits: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    entry_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ClaimRepository:
    """The claims, attestations and payouts tables, for one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Claim | Attestation | Payout) -> None:
        self.session.add(row)

    async def get(self, claim_id: uuid.UUID) -> Claim:
        claim = await self.session.get(Claim, claim_id)
        if claim is None:
            raise NotFound("claim", claim_id)
        return claim

    async def refresh(self, claim: Claim) -> Claim:
        """Re-read a claim (after its milestone's lock was taken)."""
        await self.session.refresh(claim)
        return claim

    async def submitted_of(self, milestone_id: uuid.UUID) -> list[Claim]:
        return list(
            await self.session.scalars(
                select(Claim)
                .where(Claim.milestone_id == milestone_id, Claim.status == "submitted")
                .order_by(Claim.created_at, Claim.id)
            )
        )

    async def verified_of(self, milestone_id: uuid.UUID) -> Claim | None:
        """The milestone's verified claim (a milestone verifies at most one)."""
        return await self.session.scalar(
            select(Claim)
            .where(Claim.milestone_id == milestone_id, Claim.status == "verified")
            .order_by(Claim.created_at.desc(), Claim.id)
            .limit(1)
        )

    async def attestations_of(self, claim_id: uuid.UUID) -> list[Attestation]:
        return list(
            await self.session.scalars(
                select(Attestation)
                .where(Attestation.claim_id == claim_id)
                .order_by(Attestation.created_at, Attestation.id)
            )
        )

    async def attesters_of_milestone(self, milestone_id: uuid.UUID) -> set[uuid.UUID]:
        """Every organisation that attested any claim of the milestone."""
        rows = await self.session.scalars(
            select(Attestation.verifier_org_id)
            .join(Claim, Claim.id == Attestation.claim_id)
            .where(Claim.milestone_id == milestone_id)
        )
        return set(rows)

    async def payout_of(self, milestone_id: uuid.UUID) -> Payout | None:
        return await self.session.get(Payout, milestone_id)

    async def payouts_of(self, milestone_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Payout]:
        """The payouts of many milestones in one query (lists)."""
        if not milestone_ids:
            return {}
        rows = await self.session.scalars(
            select(Payout).where(Payout.milestone_id.in_(list(milestone_ids)))
        )
        return {payout.milestone_id: payout for payout in rows}
