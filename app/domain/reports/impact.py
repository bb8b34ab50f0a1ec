"""The impact report: what a funder's pledges paid for each milestone, the verified units
attributable to that money, and the cost per unit (maths in impact_rules)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.identity.caller import Caller
from app.domain.money.service import require_org
from app.domain.reports import impact_rules as rules
from app.domain.reports.funder_money import payments_of_funder, pledges_of_funder, report_currency
from app.domain.reports.payout_facts import payout_facts
from app.domain.store.milestones import Milestone


@dataclass(frozen=True)
class ImpactLine:
    challenge_id: uuid.UUID
    milestone_id: uuid.UUID
    metric: str
    unit: str
    currency: str
    paid: int
    units: Fraction  # exact; rounded once when shown (impact_rules)
    verified_value: Fraction
    payout_amount: int

    @property
    def cost_per_unit(self) -> int | None:
        return rules.cost_per_unit(paid=self.paid, units=self.units)


@dataclass(frozen=True)
class ImpactReport:
    currency: str | None
    lines: list[ImpactLine]

    @property
    def paid(self) -> int:
        return sum(line.paid for line in self.lines)

    def by_unit(self) -> list[tuple[str, int, Fraction]]:
        """(unit, paid, exact units) per unit of measure, units summed exactly."""
        found: dict[str, tuple[int, Fraction]] = {}
        for line in self.lines:
            paid, units = found.get(line.unit, (0, Fraction(0)))
            found[line.unit] = (paid + line.paid, units + line.units)
        return [(unit, paid, units) for unit, (paid, units) in sorted(found.items())]


async def impact_of(
    session: AsyncSession, caller: Caller | None, org_id: uuid.UUID, *, currency: str | None
) -> ImpactReport:
    """The funder's impact in one currency (its only one when none is named)."""
    policies.ensure_can_manage_org(caller, org_id)
    await require_org(session, org_id)
    pledges = await pledges_of_funder(session, org_id)
    chosen = report_currency(pledges, currency)
    if chosen is None:
        return ImpactReport(currency=None, lines=[])
    lines = []
    for payments in await payments_of_funder(session, pledges, chosen):
        line = await _line(session, payments.milestone, chosen, payments.paid)
        if line is not None:
            lines.append(line)
    return ImpactReport(currency=chosen, lines=lines)


async def _line(
    session: AsyncSession, milestone: Milestone, currency: str, paid: int
) -> ImpactLine | None:
    facts = await payout_facts(session, milestone, with_parts=False)
    if facts is None:
        return None
    units = rules.attributable_units(
        verified_value=facts.verified_value, paid=paid, payout=facts.payout_amount
    )
    return ImpactLine(
        challenge_id=milestone.challenge_id,
        milestone_id=milestone.id,
        metric=facts.metric,
        unit=facts.unit,
        currency=currency,
        paid=paid,
        units=units,
        verified_value=facts.verified_value,
        payout_amount=facts.payout_amount,
    )
