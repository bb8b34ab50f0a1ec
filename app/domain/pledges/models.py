"""The pledges table. Money amounts of a pledge live in the ledger, not here."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base
from app.ledger.sqltypes import UtcDateTime, utcnow


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
    rollover_challenge_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    rolled_into_pledge_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    hold_sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
