"""What a milestone's payout was, read from the payout's own ledger entries.

A payout's entries carry the milestone's metric and unit, the verified value and the whole
payout in their meta (delivery.payouts.payout_meta), written in the transaction that paid,
so a report shows what was true when the money moved, not what a row says today. Payouts
written before their entries carried this fall back to the payout row and the milestone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.delivery.milestones import step_id
from app.domain.delivery.movements import part_entries
from app.domain.store.claims import ClaimRepository
from app.domain.store.milestones import Milestone
from app.ledger import Entry, Ledger


@dataclass(frozen=True)
class PayoutFacts:
    milestone_id: uuid.UUID
    metric: str
    unit: str
    verified_value: Fraction
    payout_amount: int
    entries: list[Entry]  # every part of the payout movement, part 0 first


async def payout_facts(
    session: AsyncSession, milestone: Milestone, *, with_parts: bool
) -> PayoutFacts | None:
    """The payout of the milestone, or None if it never paid anything. `with_parts` reads
    every part entry (a certificate proves them all); otherwise only part 0 (a report)."""
    ledger = Ledger(session)
    movement_id = step_id(milestone.id, "payout")
    if with_parts:
        entries = await part_entries(ledger, movement_id)
    else:
        first = await ledger.get_entry(movement_id)
        entries = [first] if first is not None else []
    if not entries:
        return None
    meta = entries[0].meta
    if "verified_value" in meta and "payout_amount" in meta:
        return PayoutFacts(
            milestone_id=milestone.id,
            metric=str(meta.get("metric", milestone.metric)),
            unit=str(meta.get("unit", milestone.unit)),
            verified_value=Fraction(str(meta["verified_value"])),
            payout_amount=int(meta["payout_amount"]),
            entries=entries,
        )
    payout = await ClaimRepository(session).payout_of(milestone.id)
    if payout is None or payout.amount == 0:
        return None
    return PayoutFacts(
        milestone_id=milestone.id,
        metric=milestone.metric,
        unit=milestone.unit,
        verified_value=Fraction(payout.outcome_value),
        payout_amount=payout.amount,
        entries=entries,
    )
