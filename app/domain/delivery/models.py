"""Tables of swarms, bids, claims and attestations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base
from app.ledger.sqltypes import UtcDateTime, utcnow


class Swarm(Base):
    """A coalition of actor organisations with agreed revenue shares."""

    __tablename__ = "swarms"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    lead_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SwarmMember(Base):
    __tablename__ = "swarm_members"
    __table_args__ = (Index("ix_swarm_members_org_id", "org_id"),)

    swarm_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("swarms.id"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    share_bps: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)


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


class Claim(Base):
    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_milestone_id_created_at", "milestone_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    milestone_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("milestones.id"))
    bid_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bids.id"))
    status: Mapped[str] = mapped_column(String(16))
    reported_value: Mapped[int] = mapped_column(BigInteger)
    evidence: Mapped[list[dict[str, str]]] = mapped_column(JSON)
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
