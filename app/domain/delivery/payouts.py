"""Paying a verified milestone: the payout, its exact splits, and what goes back.

At quorum (or, with a dispute window, when it closes or a dispute panel decides), in the same
transaction: the outcome value is the median of the approvers'
values; the fraction is min(1, value/target) (pro_rata) or 0/1 (binary); the payout, award x
fraction, is drawn from the milestone's escrows pro rata and split among the swarm's members
by share; the rest of each escrow returns to the pledge it came from (milestones).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.delivery import per_unit, rules
from app.domain.delivery.announce import claim_event
from app.domain.delivery.escrow import balances_of
from app.domain.delivery.fees import release_fees
from app.domain.delivery.milestones import advance, return_escrows, step_id
from app.domain.delivery.movements import chunked, post_parts
from app.domain.errors import invariant
from app.domain.flows import record as record_flow
from app.domain.money import chart, kinds
from app.domain.store.bids import BidRepository
from app.domain.store.challenges import Challenge
from app.domain.store.claims import Claim, ClaimRepository, Payout
from app.domain.store.milestones import Milestone
from app.domain.store.pledges import PledgeRepository
from app.domain.store.swarms import SwarmRepository
from app.ledger import Ledger, Posting


def _decimal(value: Fraction) -> str:
    """Exact when it terminates, else to 12 places (a display of the exact fraction)."""
    quotient = Decimal(value.numerator) / Decimal(value.denominator)
    return format(quotient.quantize(Decimal("1e-12")).normalize(), "f")


async def pay(
    session: AsyncSession,
    challenge: Challenge,
    milestone: Milestone,
    claim: Claim,
    approvals: list[int],
) -> None:
    """Pay the verified claim (challenge and milestone locked by the caller): at quorum from
    `claimed`, or later from `payout_pending` (window.py) or `disputed` (disputes.py), with
    `approvals` the values the outcome is the median of. Every payout goes through here."""
    bid = await BidRepository(session).get(claim.bid_id)
    members = await SwarmRepository(session).members_of(bid.swarm_id)
    value = rules.median(approvals)
    fraction = (  # a per-unit bid is paid per verified unit, up to its maximum
        per_unit.per_unit_fraction(value, bid.max_units)
        if bid.pricing == "per_unit" and bid.max_units
        else rules.outcome_fraction(milestone.payout_rule, value, milestone.target)
    )
    ledger = Ledger(session)
    escrows = await balances_of(session, milestone, challenge.currency)
    # Pledges before ledger accounts (store.locks): an ended pledge is refunded below.
    await PledgeRepository(session).lock_ids(challenge.id, [pid for pid, _ in escrows])
    held = sum(balance for _, balance in escrows)
    payout = rules.payout_amount(held, fraction)
    plan = rules.plan_payout(escrows, [(m.org_id, m.share_bps) for m in members], payout)
    entry_id = step_id(milestone.id, "payout")
    if payout > 0:
        await post_parts(
            ledger,
            entry_id,
            kinds.PAYOUT,
            await _payout_parts(ledger, milestone, challenge.currency, plan),
            payout_meta(milestone, claim, value=value, payout=payout, currency=challenge.currency),
        )
        await record_flow.paid(session, challenge.id, challenge.currency, milestone.id, plan.splits)
    await return_escrows(session, milestone, challenge.currency, plan.returns, "payout_rest")
    await release_fees(session, milestone, challenge.currency, "payout")
    splits = [{"org_id": str(m.org_id), "amount": plan.splits[m.org_id]} for m in members]
    ClaimRepository(session).add(
        Payout(
            milestone_id=milestone.id,
            claim_id=claim.id,
            amount=payout,
            outcome_value=_decimal(value),
            outcome_fraction=_decimal(fraction),
            splits=splits,
            entry_id=entry_id,
        )
    )
    if milestone.status == "claimed":  # else verified before its dispute window (window.py)
        claim.status = "verified"
        advance(milestone, "verify")
        await claim_event(
            session, "claim.verified", claim, milestone, bid.swarm_id, outcome_value=_decimal(value)
        )
    if payout == 0:
        advance(milestone, "not_achieve")
        await claim_event(
            session,
            "milestone.not_achieved",
            claim,
            milestone,
            bid.swarm_id,
            outcome_value=_decimal(value),
            outcome_fraction=_decimal(fraction),
        )
        return
    advance(milestone, "pay")
    funders = await PledgeRepository(session).funders_of(p for p, d in plan.draws.items() if d)
    await claim_event(
        session,
        "payout.made",
        claim,
        milestone,
        bid.swarm_id,
        also=funders,
        amount=payout,
        currency=challenge.currency,
        outcome_fraction=_decimal(fraction),
        splits=splits,
    )


def payout_meta(
    milestone: Milestone, claim: Claim, *, value: Fraction, payout: int, currency: str
) -> dict[str, Any]:
    """What a report or certificate needs of a payout, written into its entries once so that
    nobody recomputes history: the milestone's metric and unit as they were when it paid, the
    verified value (exact decimal text) and the whole payout. A funder's units are then
    `verified_value x (its debits in these entries) / payout_amount`, checkable offline from a
    sealed leaf whose meta_sha256 binds this meta."""
    return {
        "milestone_id": str(milestone.id),
        "claim_id": str(claim.id),
        "metric": milestone.metric,
        "unit": milestone.unit,
        "verified_value": _decimal(value),
        "payout_amount": payout,
        "currency": currency,
    }


async def _payout_parts(
    ledger: Ledger, milestone: Milestone, currency: str, plan: rules.PayoutPlan
) -> list[list[Posting]]:
    """Each part: some pledges' escrows debited, and the members credited exactly what those
    pledges paid them (the plan's matrix), so every part balances on its own."""
    wallets = {org_id: chart.wallet(org_id, currency).id for org_id in sorted(plan.splits)}
    parts = []
    for chunk in chunked([pid for pid, draw in sorted(plan.draws.items()) if draw > 0]):
        postings = [
            Posting.debit_of(chart.escrow_account_id(milestone.id, pid, currency), plan.draws[pid])
            for pid in chunk
        ]
        for org_id, wallet_id in wallets.items():
            amount = sum(plan.by_pledge[pid].get(org_id, 0) for pid in chunk)
            if amount > 0:
                postings.append(Posting.credit_of(wallet_id, amount))
        parts.append(postings)
    paid = sum(p.debit for part in parts for p in part)
    invariant(paid == sum(plan.splits.values()), f"milestone {milestone.id}'s payout parts")
    return parts


def payout_view(payout: Payout | None) -> dict[str, Any] | None:
    """What a milestone paid; None until it paid something (a verified outcome that pays
    nothing leaves the milestone not_achieved, with its outcome but no payout)."""
    if payout is None or payout.amount == 0:
        return None
    return {
        "amount": payout.amount,
        "outcome_value": payout.outcome_value,
        "outcome_fraction": payout.outcome_fraction,
        "splits": payout.splits,
    }


def outcome_view(payout: Payout | None) -> dict[str, str] | None:
    """The verified outcome of a milestone (paid or not achieved)."""
    if payout is None:
        return None
    return {"value": payout.outcome_value, "fraction": payout.outcome_fraction}


async def results_of(
    session: AsyncSession, milestone_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[dict[str, Any] | None, dict[str, str] | None]]:
    """(payout, outcome) of many milestones, in one query."""
    found = await ClaimRepository(session).payouts_of(milestone_ids)
    return {
        mid: (payout_view(found.get(mid)), outcome_view(found.get(mid))) for mid in milestone_ids
    }
