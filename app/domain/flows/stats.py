"""Platform totals per currency for the public: what came in, went out, and who took part.

`pledged` counts money that left funders' wallets for pledges (a rollover moves money
between pledges and is not counted twice). Conservation: pledged = paid + fees (paid to
verifiers and hosts) + returned + allocated (in escrow) + available (in pledges, unallocated).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.flows.models import FlowTotal
from app.domain.flows.totals import CATEGORY
from app.domain.store.challenges import ChallengeRepository
from app.domain.store.pledges import PledgeRepository


@dataclass
class CurrencyStats:
    currency: str
    pledged: int = 0
    paid: int = 0
    returned: int = 0
    allocated: int = 0
    available: int = 0
    fees: int = 0
    challenges: int = 0
    funders: int = 0
    actors: int = 0


async def stats(session: AsyncSession) -> list[CurrencyStats]:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for currency, category, amount in await session.execute(
        select(FlowTotal.currency, CATEGORY, func.sum(FlowTotal.amount)).group_by(
            FlowTotal.currency, CATEGORY
        )
    ):
        sums[currency][category] += int(amount)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for currency, count in (
        await ChallengeRepository(session).count_past_draft_by_currency()
    ).items():
        counts[currency]["challenges"] = count
    for currency, count in (await PledgeRepository(session).count_funders_by_currency()).items():
        counts[currency]["funders"] = count
    for currency, count in await session.execute(
        select(FlowTotal.currency, func.count(FlowTotal.target.distinct()))
        .where(FlowTotal.target.startswith("actor:"), FlowTotal.amount > 0)
        .group_by(FlowTotal.currency)
    ):
        counts[currency]["actors"] = count
    return [_one(currency, sums[currency], counts[currency]) for currency in sorted(sums | counts)]


def _one(currency: str, sums: dict[str, int], counts: dict[str, int]) -> CurrencyStats:
    pledged = sums["came_in"] - sums["rolled_over"]
    return CurrencyStats(
        currency=currency,
        pledged=pledged,
        paid=sums["paid"],
        returned=sums["returned"],
        allocated=sums["escrowed"] - sums["paid"] - sums["fees"],
        fees=sums["fees"] + sums["host_fees"],
        available=pledged - sums["escrowed"] - sums["returned"] - sums["host_fees"],
        challenges=counts["challenges"],
        funders=counts["funders"],
        actors=counts["actors"],
    )
