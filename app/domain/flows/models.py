"""The funding-flow rollup: one row per (challenge, source node, target node).

Written in the same transaction as the ledger entries that move the money, so public reads
cost one indexed range scan per challenge however long the journal grows; reconciled
against the journal by `flows.reconcile` (the admin's ledger check and every test).
"""

from __future__ import annotations

import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base


class FlowTotal(Base):
    __tablename__ = "flow_totals"
    __table_args__ = (Index("ix_flow_totals_currency_target", "currency", "target"),)

    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    # How many times the row changed: a view's version is the sum over its rows, so it
    # grows with every change (rows are never deleted) and a rendered view can be cached
    # until it moves (app/api/flows_cache.py).
    version: Mapped[int] = mapped_column(BigInteger, default=1, server_default="0")
