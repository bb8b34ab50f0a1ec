"""Public benchmarks: the median, p25 and p75 cost per verified unit of paid milestones, per
SDG target, unit and currency (the number impact funds ask for first).

A paid milestone counts once under each SDG target it is tagged with (its own targets, or
its challenge's when it names none), at floor(payout / verified value) minor units per unit.
Amounts of different currencies are never mixed: each item names its currency. The read is
one query over the paid milestones (bounded by MAX_MILESTONES, newest payouts first), and the
maths is `rules`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.benchmarks.rules import MEDIAN, P25, P75, cost_per_unit, percentile
from app.domain.store.challenges import Challenge
from app.domain.store.claims import Payout
from app.domain.store.milestones import Milestone

MAX_MILESTONES = 10_000  # the newest paid milestones a benchmark reads, at most


@dataclass(frozen=True)
class Benchmark:
    sdg_target: str
    unit: str
    currency: str
    milestones: int
    median_cost_per_unit: int
    p25: int
    p75: int


def _matches(target: str, sdg: str | None) -> bool:
    """`sdg` is a target ("6.1") or a goal ("6")."""
    if sdg is None:
        return True
    return target == sdg if "." in sdg else target.split(".", 1)[0] == sdg


async def benchmarks(
    session: AsyncSession, *, sdg: str | None = None, unit: str | None = None
) -> list[Benchmark]:
    """One item per (SDG target, unit, currency) with paid milestones, sorted by those."""
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
        .limit(MAX_MILESTONES)
    )
    if unit is not None:
        query = query.where(Milestone.unit == unit)
    costs: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for row_unit, own_targets, challenge_targets, currency, amount, value in await session.execute(
        query
    ):
        verified = Fraction(value)
        if verified <= 0:
            continue
        cost = cost_per_unit(int(amount), verified)
        for target in own_targets or challenge_targets:
            if _matches(target, sdg):
                costs[(target, row_unit, currency)].append(cost)
    return [
        Benchmark(
            sdg_target=target,
            unit=row_unit,
            currency=currency,
            milestones=len(values),
            median_cost_per_unit=percentile(values, MEDIAN),
            p25=percentile(values, P25),
            p75=percentile(values, P75),
        )
        for (target, row_unit, currency), values in sorted(costs.items())
    ]
