"""Tables of challenges, their SDG targets (for filtering) and milestones."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base
from app.ledger.sqltypes import UtcDateTime, utcnow


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
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ChallengeTarget(Base):
    """One SDG target of a challenge, so that lists filter by goal or target with an index."""

    __tablename__ = "challenge_sdg_targets"
    __table_args__ = (Index("ix_challenge_sdg_targets_goal", "goal", "challenge_id"),)

    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"), primary_key=True)
    target: Mapped[str] = mapped_column(String(8), primary_key=True, index=True)
    goal: Mapped[int] = mapped_column(SmallInteger)


class Milestone(Base):
    """A measurable outcome of a challenge that a swarm can bid on and be paid for."""

    __tablename__ = "milestones"
    __table_args__ = (Index("ix_milestones_challenge_id_created_at", "challenge_id", "created_at"),)

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
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
