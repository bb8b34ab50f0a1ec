"""Public benchmarks: the median, p25 and p75 cost per verified unit of paid milestones, per
SDG target, unit and currency (the number impact funds ask for first).

A paid milestone counts once under each SDG target it is tagged with (its own targets, or
its challenge's when it names none), at floor(payout / verified value) minor units per unit.
Amounts of different currencies are never mixed: each item names its currency. The read is
one query over the paid milestones (store.outcomes; the newest MAX_MILESTONES payouts), and
the maths is `rules`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.benchmarks.rules import MEDIAN, P25, P75, cost_per_unit, percentile
from app.domain.store.outcomes import OutcomeRepository

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
    costs: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for outcome in await OutcomeRepository(session).paid(unit=unit, limit=MAX_MILESTONES):
        verified = Fraction(outcome.outcome_value)
        if verified <= 0:
            continue
        cost = cost_per_unit(outcome.amount, verified)
        for target in outcome.sdg_targets:
            if _matches(target, sdg):
                costs[(target, outcome.unit, outcome.currency)].append(cost)
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
