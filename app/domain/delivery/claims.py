"""Claims, attestations and payouts: actors are paid on outcomes a quorum has verified.

At `quorum` approvals, in the same transaction: the outcome value is the median of the
approvers' values; the fraction is min(1, value/target) (pro_rata) or 0/1 (binary); the
payout, award x fraction, is drawn from the milestone's escrows pro rata and split among the
swarm's members by share; the rest of each escrow returns to the pledge it came from. At
n - quorum + 1 rejections the claim is rejected and the swarm may claim again until the due
date. A milestone past its due date with no verified claim fails and its escrows return.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.challenges.models import Challenge, Milestone
from app.domain.delivery import awards, rules, statements, swarms
from app.domain.delivery.announce import claim_event, milestone_failed
from app.domain.delivery.entries import chunked, post_parts
from app.domain.delivery.models import Attestation, Bid, Claim, Payout
from app.domain.delivery.states import advance
from app.domain.errors import Conflict, Forbidden, InvalidState, NotFound, Unprocessable
from app.domain.flows import record as record_flow
from app.domain.identity.caller import Caller
from app.domain.money import chart
from app.domain.pledges import settlement
from app.domain.pledges.announce import announce
from app.domain.pledges.models import Pledge
from app.ledger import Ledger, Posting
from app.ledger.sqltypes import utcnow

STEP = uuid.UUID("1f0e8a44-7c2b-4d55-9e6a-3b9d2c7f5a01")
DUE_BATCH = 50


def _step(milestone_id: uuid.UUID, name: str) -> uuid.UUID:
    return uuid.uuid5(STEP, f"{milestone_id}:{name}")


async def _awarded_swarm(session: AsyncSession, milestone: Milestone) -> tuple[Bid, set[uuid.UUID]]:
    if milestone.awarded_bid_id is None:
        raise InvalidState("milestone", milestone.id, milestone.status, "claimed")
    bid = await awards.get_bid(session, milestone.awarded_bid_id)
    members = {m.org_id for m in await swarms.members_of(session, bid.swarm_id)}
    return bid, members


async def submit_claim(
    session: AsyncSession,
    caller: Caller | None,
    milestone_id: uuid.UUID,
    *,
    reported_value: int,
    evidence: list[dict[str, str]],
) -> Claim:
    caller = policies.require_role(caller, "actor")
    milestone = await session.get(Milestone, milestone_id, with_for_update=True)
    if milestone is None:
        raise NotFound("milestone", milestone_id)
    bid, _ = await _awarded_swarm(session, milestone)
    swarm = await swarms.get_swarm(session, bid.swarm_id)
    if not caller.is_org(swarm.lead_org_id):
        raise Forbidden("Only the lead of the awarded swarm may claim this milestone.")
    if milestone.due_at <= utcnow():
        raise InvalidState("milestone", milestone_id, "past its due date", "claimed")
    if len(milestone.verifier_org_ids) < milestone.quorum:
        raise Conflict(
            "The steward has not assigned the milestone's verifiers yet.",
            code="verifiers_not_assigned",
        )
    claim = Claim(
        id=uuid.uuid4(),
        milestone_id=milestone_id,
        bid_id=bid.id,
        status="submitted",
        reported_value=reported_value,
        evidence=evidence,
    )
    advance(milestone, "claim")
    session.add(claim)
    await session.flush()
    await claim_event(session, "claim.submitted", claim, milestone, bid.swarm_id)
    return claim


async def get_claim(session: AsyncSession, caller: Caller | None, claim_id: uuid.UUID) -> Claim:
    """The steward, the swarm's members, the assigned verifiers and the admin."""
    caller = policies.require_caller(caller)
    claim = await session.get(Claim, claim_id)
    if claim is None:
        raise NotFound("claim", claim_id)
    if caller.is_admin:
        return claim
    milestone = await session.get(Milestone, claim.milestone_id)
    assert milestone is not None
    challenge = await session.get(Challenge, milestone.challenge_id)
    _, members = await _awarded_swarm(session, milestone)
    allowed = members | {uuid.UUID(v) for v in milestone.verifier_org_ids}
    if challenge is not None:
        allowed.add(challenge.steward_org_id)
    if caller.org_id not in allowed:
        raise NotFound("claim", claim_id)
    return claim


async def attest(
    session: AsyncSession,
    caller: Caller | None,
    claim_id: uuid.UUID,
    *,
    verdict: str,
    value: int | None,
    note: str | None,
) -> tuple[Attestation, Claim]:
    caller = policies.require_role(caller, "verifier")
    claim = await session.get(Claim, claim_id)
    if claim is None:
        raise NotFound("claim", claim_id)
    milestone = await session.get(Milestone, claim.milestone_id, with_for_update=True)
    assert milestone is not None
    await session.refresh(claim, with_for_update=True)
    if str(caller.org_id) not in milestone.verifier_org_ids:
        raise NotFound("claim", claim_id)
    if claim.status != "submitted":
        raise InvalidState("claim", claim_id, claim.status, "attested")
    if verdict == "approve" and value is None:
        raise Unprocessable("An approval states the measured value.", code="value_required")
    done = await session.scalar(
        select(Attestation.id).where(
            Attestation.claim_id == claim_id, Attestation.verifier_org_id == caller.org_id
        )
    )
    if done is not None:
        raise Conflict("This verifier has already attested the claim.", code="already_attested")
    attestation = Attestation(
        id=uuid.uuid4(),
        claim_id=claim_id,
        verifier_org_id=caller.org_id,
        verdict=verdict,
        value=value,
        note=note,
    )
    session.add(attestation)
    await session.flush()
    await _decide(session, milestone, claim)
    return attestation, claim


async def _decide(session: AsyncSession, milestone: Milestone, claim: Claim) -> None:
    votes = list(await session.scalars(select(Attestation).where(Attestation.claim_id == claim.id)))
    approvals = [v.value for v in votes if v.verdict == "approve" and v.value is not None]
    rejections = sum(1 for v in votes if v.verdict == "reject")
    if len(approvals) >= milestone.quorum:
        await _pay(session, milestone, claim, approvals)
    elif rejections >= rules.rejection_limit(len(milestone.verifier_org_ids), milestone.quorum):
        claim.status = "rejected"
        advance(milestone, "reject_claim")
        bid = await awards.get_bid(session, claim.bid_id)
        await claim_event(session, "claim.rejected", claim, milestone, bid.swarm_id)
    await session.flush()


async def _escrows(
    session: AsyncSession, ledger: Ledger, milestone: Milestone, currency: str
) -> list[tuple[uuid.UUID, int]]:
    accounts = await statements.escrow_accounts_of(session, milestone, currency)
    balances = await ledger.balances(accounts.values())
    return sorted(
        (pid, balances[account].credit_balance)
        for pid, account in accounts.items()
        if account in balances and balances[account].credit_balance > 0
    )


async def _pay(
    session: AsyncSession, milestone: Milestone, claim: Claim, approvals: list[int]
) -> None:
    challenge = await session.get(Challenge, milestone.challenge_id)
    assert challenge is not None
    bid = await awards.get_bid(session, claim.bid_id)
    members = await swarms.members_of(session, bid.swarm_id)
    value = rules.median(approvals)
    fraction = rules.outcome_fraction(milestone.payout_rule, value, milestone.target)
    ledger = Ledger(session)
    escrows = await _escrows(session, ledger, milestone, challenge.currency)
    held = sum(balance for _, balance in escrows)
    payout = rules.payout_amount(held, fraction)
    plan = rules.plan_payout(escrows, [(m.org_id, m.share_bps) for m in members], payout)
    entry_id = _step(milestone.id, "payout")
    if payout > 0:
        await post_parts(
            ledger,
            entry_id,
            "payout",
            await _payout_parts(ledger, milestone, challenge.currency, plan),
            {"milestone_id": str(milestone.id), "claim_id": str(claim.id)},
        )
        await record_flow.paid(session, challenge.id, challenge.currency, milestone.id, plan.splits)
    await return_escrows(ledger, milestone, challenge.currency, plan.returns, "payout_rest")
    session.add(
        Payout(
            milestone_id=milestone.id,
            claim_id=claim.id,
            amount=payout,
            outcome_value=_decimal(value),
            outcome_fraction=_decimal(fraction),
            splits=[{"org_id": str(m.org_id), "amount": plan.splits[m.org_id]} for m in members],
            entry_id=entry_id,
        )
    )
    claim.status = "verified"
    advance(milestone, "verify")
    advance(milestone, "pay")
    await claim_event(
        session, "claim.verified", claim, milestone, bid.swarm_id, outcome_value=_decimal(value)
    )
    funders = await session.scalars(
        select(Pledge.funder_org_id).where(Pledge.id.in_([p for p, d in plan.draws.items() if d]))
    )
    await claim_event(
        session,
        "payout.made",
        claim,
        milestone,
        bid.swarm_id,
        also=set(funders),
        amount=payout,
        currency=challenge.currency,
        outcome_fraction=_decimal(fraction),
        splits=[{"org_id": str(m.org_id), "amount": plan.splits[m.org_id]} for m in members],
    )


def _decimal(value: Fraction) -> str:
    """Exact when it terminates, else to 12 places (a display of the exact fraction)."""
    quotient = Decimal(value.numerator) / Decimal(value.denominator)
    return format(quotient.quantize(Decimal("1e-12")).normalize(), "f")


async def _payout_parts(
    ledger: Ledger, milestone: Milestone, currency: str, plan: rules.PayoutPlan
) -> list[list[Posting]]:
    """Each part: some pledges' escrows debited, and the members credited exactly what those
    pledges paid them (the plan's matrix), so every part balances on its own."""
    wallets = {
        org_id: (await chart.wallet(ledger, org_id, currency)).id for org_id in sorted(plan.splits)
    }
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
    return parts


async def return_escrows(
    ledger: Ledger, milestone: Milestone, currency: str, returns: dict[uuid.UUID, int], kind: str
) -> None:
    """Give each escrow's rest back to the pledge it came from. A pledge that has ended
    meanwhile (expired, refunded) passes the money straight on to its funder's wallet, so no
    cent is ever stranded in a pledge nobody can use."""
    parts = [
        [
            posting
            for pledge_id, amount in chunk
            for posting in (
                Posting.debit_of(
                    chart.escrow_account_id(milestone.id, pledge_id, currency), amount
                ),
                Posting.credit_of(chart.pledge_account_id(pledge_id, currency), amount),
            )
        ]
        for chunk in chunked(
            [(pid, amount) for pid, amount in sorted(returns.items()) if amount > 0]
        )
    ]
    if parts:
        await post_parts(
            ledger,
            _step(milestone.id, kind),
            "escrow_return",
            parts,
            {"milestone_id": str(milestone.id), "reason": kind},
        )
        await record_flow.allocated(
            ledger.session, milestone.challenge_id, currency, milestone.id, -sum(returns.values())
        )
        await _refund_ended_pledges(ledger, milestone, returns, kind)


async def _refund_ended_pledges(
    ledger: Ledger, milestone: Milestone, returns: dict[uuid.UUID, int], reason: str
) -> None:
    ended = await ledger.session.scalars(
        select(Pledge)
        .where(Pledge.id.in_([pid for pid, amount in returns.items() if amount > 0]))
        .where(Pledge.status.not_in(settlement.LIVE_STATUSES))
        .order_by(Pledge.id)
    )
    for pledge in ended:
        kind = "pledge_refund" if pledge.status == "refunded" else "pledge_expiry_refund"
        step = f"{kind}:{milestone.id}:{reason}"
        returned = await settlement.return_available(ledger, pledge, kind, step)
        await announce(
            ledger.session, "pledge.refunded", pledge, returned=returned, reason="escrow returned"
        )


async def fail_overdue_milestones(session: AsyncSession, now: datetime) -> int:
    """Due work: awarded or claimed milestones past their due date fail; escrows return."""
    query = (
        select(Milestone.id)
        .where(Milestone.status.in_(("awarded", "claimed")), Milestone.due_at <= now)
        .order_by(Milestone.due_at)
        .limit(DUE_BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    done = 0
    for milestone_id in list(await session.scalars(query)):
        milestone = await session.get(Milestone, milestone_id, populate_existing=True)
        challenge = await session.get(Challenge, milestone.challenge_id) if milestone else None
        if milestone is None or challenge is None or milestone.status not in ("awarded", "claimed"):
            continue
        await fail_milestone(session, milestone, challenge)
        done += 1
    await session.flush()
    return done


async def fail_milestone(
    session: AsyncSession, milestone: Milestone, challenge: Challenge, reason: str | None = None
) -> None:
    """An awarded or claimed milestone fails: its escrows return, open claims are rejected."""
    await milestone_failed(session, milestone, "due date passed" if reason is None else reason)
    ledger = Ledger(session)
    escrows = await _escrows(session, ledger, milestone, challenge.currency)
    await return_escrows(ledger, milestone, challenge.currency, dict(escrows), "failed")
    for claim in await session.scalars(
        select(Claim).where(Claim.milestone_id == milestone.id, Claim.status == "submitted")
    ):
        claim.status = "rejected"
        bid = await awards.get_bid(session, claim.bid_id)
        await claim_event(session, "claim.rejected", claim, milestone, bid.swarm_id)
    advance(milestone, "fail")


async def end_milestones(session: AsyncSession, challenge: Challenge) -> None:
    """At cancellation: awarded or claimed milestones fail (escrow returns to the pledges),
    milestones nobody was awarded are cancelled, and bids still waiting are rejected."""
    milestones = await session.scalars(
        select(Milestone)
        .where(Milestone.challenge_id == challenge.id)
        .order_by(Milestone.id)
        .with_for_update()
    )
    for milestone in milestones:
        if milestone.status in ("awarded", "claimed"):
            await fail_milestone(session, milestone, challenge, "challenge cancelled")
        elif milestone.status in ("draft", "open"):
            advance(milestone, "cancel")
        await awards.reject_waiting_bids(session, milestone)
    await session.flush()


async def payout_of(session: AsyncSession, milestone_id: uuid.UUID) -> dict[str, Any] | None:
    payout = await session.get(Payout, milestone_id)
    if payout is None:
        return None
    return {
        "amount": payout.amount,
        "outcome_value": payout.outcome_value,
        "outcome_fraction": payout.outcome_fraction,
        "splits": payout.splits,
    }
