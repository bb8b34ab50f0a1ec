"""Bids and awards.

An award draws the bid's amount from the challenge's eligible pledges (earmarks respected),
pro rata to their available money, by largest remainder with ties to the smaller pledge id,
into one escrow account per (milestone, pledge). If the eligible money is short, nothing
changes. Locks go down the tree: challenge, milestone, its bids, then the pledges.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.delivery import per_unit
from app.domain.delivery.announce import bid_event
from app.domain.delivery.eligibility import fundable
from app.domain.delivery.milestones import advance, lock, reject_bids
from app.domain.delivery.movements import chunked, post_parts
from app.domain.errors import (
    Conflict,
    Forbidden,
    InsufficientFunds,
    InvalidState,
    Unprocessable,
    invariant,
)
from app.domain.flows import record as record_flow
from app.domain.identity.caller import Caller
from app.domain.money import chart, kinds
from app.domain.money.currency import spoken
from app.domain.pledges.rules import allocate_pro_rata
from app.domain.store.bids import Bid, BidRepository
from app.domain.store.challenges import Challenge, ChallengeRepository
from app.domain.store.milestones import Milestone, MilestoneRepository
from app.domain.store.swarms import SwarmRepository
from app.domain.wording import listed
from app.ledger import Ledger, Posting


async def submit_bid(
    session: AsyncSession,
    caller: Caller | None,
    milestone_id: uuid.UUID,
    *,
    swarm_id: uuid.UUID,
    amount: int,
    plan: str,
    pricing: str = "lump_sum",
    unit_price: int | None = None,
    max_units: int | None = None,
) -> Bid:
    caller = policies.require_role(caller, "actor")
    milestone, challenge = await lock(session, milestone_id)
    mispriced = per_unit.check_pricing(pricing, amount, unit_price, max_units, challenge.currency)
    if mispriced is not None:
        raise Unprocessable(mispriced, code="invalid_pricing")
    swarm = await SwarmRepository(session).get(swarm_id)
    if swarm.lead_org_id != caller.org_id:
        raise Forbidden("Only the swarm's lead may bid for it.")
    if challenge.status not in ("open", "closed") or milestone.status != "open":
        raise InvalidState("milestone", milestone_id, milestone.status, "bid on")
    if swarm.status != "active":
        raise InvalidState("swarm", swarm_id, swarm.status, "bidding (every member must accept)")
    if amount > milestone.budget_cap:
        raise Unprocessable(
            f"The bid of {spoken(amount, challenge.currency)} exceeds the milestone's budget "
            f"cap of {spoken(milestone.budget_cap, challenge.currency)}.",
            code="amount_over_budget",
        )
    members = await SwarmRepository(session).member_ids([swarm_id])
    verifying = sorted(str(m) for m in members if str(m) in milestone.verifier_org_ids)
    if verifying:
        raise Conflict(
            f"Members {listed(verifying)} of the swarm are the milestone's verifiers: a swarm "
            "cannot bid on work its members verify.",
            code="conflict_of_interest",
        )
    bid = Bid(
        id=uuid.uuid4(),
        milestone_id=milestone_id,
        swarm_id=swarm_id,
        amount=amount,
        plan=plan,
        status="submitted",
        pricing=pricing,
        unit_price=unit_price,
        max_units=max_units,
    )
    BidRepository(session).add(bid)
    await session.flush()
    await bid_event(session, "bid.submitted", bid, milestone)
    return bid


async def list_bids(
    session: AsyncSession, caller: Caller | None, milestone_id: uuid.UUID
) -> list[Bid]:
    """The steward and the admin see every bid; a swarm's members see their swarm's."""
    caller = policies.require_caller(caller)
    milestone = await MilestoneRepository(session).get(milestone_id)
    steward = await ChallengeRepository(session).steward_of(milestone.challenge_id)
    everyone = caller.is_admin or (steward is not None and caller.is_org(steward))
    return await BidRepository(session).of_milestone(
        milestone_id, member=caller.org_id, everyone=everyone
    )


async def _locked_bids(
    session: AsyncSession, bid_id: uuid.UUID
) -> tuple[Bid, list[Bid], Milestone, Challenge]:
    """The bid with its milestone's other waiting bids, all locked after the challenge and
    the milestone."""
    found = await BidRepository(session).get(bid_id)
    milestone, challenge = await lock(session, found.milestone_id)
    bids = await BidRepository(session).lock_of_milestones(
        [milestone.id], challenge_id=challenge.id, status=None
    )
    bid = next(b for b in bids if b.id == bid_id)
    return bid, [b for b in bids if b.id != bid_id], milestone, challenge


async def withdraw_bid(session: AsyncSession, caller: Caller | None, bid_id: uuid.UUID) -> Bid:
    caller = policies.require_caller(caller)
    bid, _, milestone, _ = await _locked_bids(session, bid_id)
    swarm = await SwarmRepository(session).get(bid.swarm_id)
    if not caller.is_org(swarm.lead_org_id):
        raise Forbidden("Only the swarm's lead may withdraw its bid.")
    if bid.status != "submitted":
        raise InvalidState("bid", bid_id, bid.status, "withdrawn")
    bid.status = "withdrawn"
    await session.flush()
    await bid_event(session, "bid.withdrawn", bid, milestone)
    return bid


async def _check_conflicts(
    session: AsyncSession, challenge: Challenge, milestone: Milestone, bid: Bid
) -> None:
    """Nobody verifies their own work, and no steward awards its own swarm."""
    members = await SwarmRepository(session).member_ids([bid.swarm_id])
    if challenge.steward_org_id in members:
        raise Conflict(
            f"The challenge's steward {challenge.steward_org_id} is a member of the bidding "
            "swarm; it cannot award itself.",
            code="conflict_of_interest",
        )
    conflicted = [org for org in milestone.verifier_org_ids if uuid.UUID(org) in members]
    if conflicted:
        raise Conflict(
            f"Assigned verifiers {listed(conflicted)} are members of the bidding swarm.",
            code="conflict_of_interest",
        )


async def award_bid(session: AsyncSession, caller: Caller | None, bid_id: uuid.UUID) -> Bid:
    """Escrow the bid's amount from the eligible pledges and reject the other bids."""
    policies.require_caller(caller)
    bid, others, milestone, challenge = await _locked_bids(session, bid_id)
    policies.require_steward_of(caller, challenge.steward_org_id, admin_too=False)
    if bid.status != "submitted":
        raise InvalidState("bid", bid_id, bid.status, "awarded")
    await _check_conflicts(session, challenge, milestone, bid)
    advance(milestone, "award")
    await _escrow(session, challenge, milestone, bid)
    bid.status = "awarded"
    milestone.awarded_bid_id = bid.id
    await bid_event(session, "bid.awarded", bid, milestone)
    await reject_bids(session, milestone, others)
    await session.flush()
    return bid


async def _escrow(
    session: AsyncSession, challenge: Challenge, milestone: Milestone, bid: Bid
) -> None:
    pledges, available = await fundable(session, challenge, milestone)
    ledger = Ledger(session)
    total = sum(amount for _, amount in available)
    if total < bid.amount:
        raise InsufficientFunds(
            f"Eligible pledges hold {spoken(total, challenge.currency)}; the bid needs "
            f"{spoken(bid.amount, challenge.currency)}.",
            available=total,
            requested=bid.amount,
            currency=challenge.currency,
        )
    draws = allocate_pro_rata(bid.amount, available)
    invariant(sum(draws.values()) == bid.amount, f"award {bid.id} draws {sum(draws.values())}")
    drawn = [(pid, draw) for pid, draw in sorted(draws.items()) if draw > 0]
    escrows = chart.escrow_accounts(milestone.id, [pid for pid, _ in drawn], challenge.currency)
    parts = [
        [
            posting
            for pledge_id, draw in chunk
            for posting in (
                Posting.debit_of(chart.pledge_account_id(pledge_id, challenge.currency), draw),
                Posting.credit_of(escrows[pledge_id].id, draw),
            )
        ]
        for chunk in chunked(drawn)
    ]
    meta = {"milestone_id": str(milestone.id), "bid_id": str(bid.id)}
    await post_parts(ledger, bid.id, kinds.AWARD, parts, meta)
    await record_flow.allocated(session, challenge.id, challenge.currency, milestone.id, bid.amount)
    drained = {pid for pid, amount in available if draws.get(pid, 0) == amount}
    for pledge in pledges:
        if pledge.id in drained and pledge.hold_entry_id is None:
            pledge.status = "exhausted"
