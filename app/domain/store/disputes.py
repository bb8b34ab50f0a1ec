"""Disputes of verified claims and their panels' attestations: the tables and their queries.

A dispute changes only under its milestone's row lock (like claims), which serialises it;
it needs no lock of its own. One milestone has at most one open dispute at a time (its
status `disputed` says so), and a dispute's panel attests at most once per member (the
unique constraint backs the check).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base
from app.domain.errors import NotFound
from app.sql.types import UtcDateTime, utcnow


class Dispute(Base):
    """A challenge to a verified claim, opened inside its milestone's dispute window."""

    __tablename__ = "disputes"
    __table_args__ = (Index("ix_disputes_milestone_id_created_at", "milestone_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    milestone_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("milestones.id"))
    opened_by_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    panel_org_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    outcome_value: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PanelAttestation(Base):
    """One panel member's verdict on a dispute."""

    __tablename__ = "dispute_attestations"
    __table_args__ = (UniqueConstraint("dispute_id", "verifier_org_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    dispute_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("disputes.id"), index=True)
    verifier_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    verdict: Mapped[str] = mapped_column(String(8))
    value: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DisputeRepository:
    """The disputes and dispute_attestations tables, for one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Dispute | PanelAttestation) -> None:
        self.session.add(row)

    async def get(self, dispute_id: uuid.UUID) -> Dispute:
        dispute = await self.session.get(Dispute, dispute_id)
        if dispute is None:
            raise NotFound("dispute", dispute_id)
        return dispute

    async def refresh(self, dispute: Dispute) -> Dispute:
        """Re-read a dispute (after its milestone's lock was taken)."""
        await self.session.refresh(dispute)
        return dispute

    async def open_of(self, milestone_id: uuid.UUID) -> list[Dispute]:
        return list(
            await self.session.scalars(
                select(Dispute)
                .where(Dispute.milestone_id == milestone_id, Dispute.status == "open")
                .order_by(Dispute.created_at, Dispute.id)
            )
        )

    async def attestations_of(self, dispute_id: uuid.UUID) -> list[PanelAttestation]:
        return list(
            await self.session.scalars(
                select(PanelAttestation)
                .where(PanelAttestation.dispute_id == dispute_id)
                .order_by(PanelAttestation.created_at, PanelAttestation.id)
            )
        )
