"""From the reports' domain objects to their responses (rounding happens here, once)."""

from __future__ import annotations

from app.api.schemas.reports import ImpactItemOut, ImpactOut, ImpactTotalsOut, ImpactUnitTotalOut
from app.domain.reports import impact_rules as rules
from app.domain.reports.impact import ImpactLine, ImpactReport


def impact_item(line: ImpactLine) -> ImpactItemOut:
    return ImpactItemOut(
        challenge_id=line.challenge_id,
        milestone_id=line.milestone_id,
        metric=line.metric,
        unit=line.unit,
        currency=line.currency,
        paid=line.paid,
        units=rules.units_text(line.units),
        units_exact=rules.exact_text(line.units),
        cost_per_unit=line.cost_per_unit,
        verified_value=rules.exact_text(line.verified_value),
        payout_amount=line.payout_amount,
    )


def impact_out(report: ImpactReport) -> ImpactOut:
    return ImpactOut(
        items=[impact_item(line) for line in report.lines],
        totals=ImpactTotalsOut(
            currency=report.currency,
            paid=report.paid,
            by_unit=[
                ImpactUnitTotalOut(
                    unit=unit,
                    paid=paid,
                    units=rules.units_text(units),
                    cost_per_unit=rules.cost_per_unit(paid=paid, units=units),
                )
                for unit, paid, units in report.by_unit()
            ],
        ),
    )
