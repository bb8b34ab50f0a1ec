"""Paid outcomes across milestones, payouts and challenges: the one read public benchmarks
make (a read of three tables, so it lives beside their repositories, not in a service)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.store.challenges import Challenge
from app.domain.store.claims import Payout
from app.domain.store.milestones import Milestone


@dataclass(frozen=True)
class PaidOutcome:
    unit: str
    sdg_targets: list[str]  # the milestone's own, or its challenge's when it names none
    currency: str
    amount: int
    outcome_value: str


class OutcomeRepository:
    """Paid milestones with what they paid and the value verified, for one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def paid(self, *, unit: str | None, limit: int) -> list[PaidOutcome]:
        """The newest `limit` paid milestones (of `unit`, if given) that paid something."""
        query = (
            select(
                Milestone.unit,
                Milestone.sdg_targets,
                Challenge.sdg_targets,
                Challenge.currency,
                Payout.amount,
                Payout.outcome_value,
            )
            .join(Payout, Payout.milestone_id == Milestone.id)
            .join(Challenge, Challenge.id == Milestone.challenge_id)
            .where(Milestone.status == "paid", Payout.amount > 0)
            .order_by(Payout.created_at.desc(), Payout.milestone_id)
            .limit(limit)
        )
        if unit is not None:
            query = query.where(Milestone.unit == unit)
        rows = await self.session.execute(query)
        return [
            PaidOutcome(row_unit, list(own or challenge_targets), currency, int(amount), value)
            for row_unit, own, challenge_targets, currency, amount, value in rows
        ]
