"""From the reports' domain objects to their responses (rounding happens here, once)."""

from __future__ import annotations

from app.api.schemas.reports import (
    CertificateOut,
    CertificateTreeHeadOut,
    CertifiedEntryOut,
    ImpactItemOut,
    ImpactOut,
    ImpactTotalsOut,
    ImpactUnitTotalOut,
)
from app.domain.reports import impact_rules as rules
from app.domain.reports.certificates import Certificate
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


ROUNDING = (
    "units = verified_value x amount_paid / payout_amount, exactly, then rounded once to "
    f"{rules.UNIT_PLACES} decimal places, half to even"
)


def certificate_out(certificate: Certificate) -> CertificateOut:
    head, facts = certificate.tree_head, certificate.facts
    return CertificateOut(
        funder_org_id=certificate.funder_org_id,
        challenge_id=certificate.milestone.challenge_id,
        milestone_id=certificate.milestone.id,
        metric=facts.metric,
        unit=facts.unit,
        currency=certificate.currency,
        units=rules.units_text(certificate.units_exact),
        units_exact=rules.exact_text(certificate.units_exact),
        amount_paid=certificate.amount_paid,
        verified_value=rules.exact_text(facts.verified_value),
        payout_amount=facts.payout_amount,
        rounding=ROUNDING,
        entries=[
            CertifiedEntryOut(
                entry_id=e.entry_id,
                leaf=e.leaf,
                leaf_index=e.leaf_index,
                audit_path=e.audit_path,
                meta=e.meta,
                funder_postings=e.funder_postings,
            )
            for e in certificate.entries
        ],
        tree_head=CertificateTreeHeadOut(
            tree_size=head.tree_size,
            root_hash=head.root_hash,
            timestamp=head.timestamp,
            signature=head.signature,
        ),
    )
