"""Bids, awards and verifier assignment.

An award draws the bid's amount from the challenge's eligible pledges (earmarks respected),
pro rata to their available money, by largest remainder with ties to the smaller pledge id,
into one escrow account per (milestone, pledge), in one ledger entry. If the eligible money
is short, nothing changes.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.challenges import service as challenges
from app.domain.challenges.models import Challenge, Milestone
from app.domain.delivery import swarms
from app.domain.delivery.announce import bid_event
from app.domain.delivery.entries import chunked, post_parts
from app.domain.delivery.models import Bid, SwarmMember
from app.domain.delivery.states import advance
from app.domain.errors import (
    Conflict,
    Forbidden,
    InsufficientFunds,
    InvalidState,
    NotFound,
    Unprocessable,
)
from app.domain.flows import record as record_flow
from app.domain.identity.caller import Caller
from app.domain.identity.models import Org
from app.domain.money import chart
from app.domain.pledges.models import Pledge
from app.domain.pledges.rules import allocate_pro_rata
from app.ledger import Ledger, Posting

MAX_VERIFIERS = 50


async def _milestone(
    session: AsyncSession, milestone_id: uuid.UUID, *, lock: bool
) -> tuple[Milestone, Challenge]:
    milestone = await session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("milestone", milestone_id)
    challenge = await challenges.get_challenge(session, milestone.challenge_id, lock=lock)
    if lock:
        await session.refresh(milestone, with_for_update=True)
    return milestone, challenge


async def submit_bid(
    session: AsyncSession,
    caller: Caller | None,
    milestone_id: uuid.UUID,
    *,
    swarm_id: uuid.UUID,
    amount: int,
    plan: str,
) -> Bid:
    caller = policies.require_role(caller, "actor")
    milestone, challenge = await _milestone(session, milestone_id, lock=True)
    swarm = await swarms.get_swarm(session, swarm_id)
    if swarm.lead_org_id != caller.org_id:
        raise Forbidden("Only the swarm's lead may bid for it.")
    if challenge.status not in ("open", "closed") or milestone.status != "open":
        raise InvalidState("milestone", milestone_id, milestone.status, "bid on")
    if swarm.status != "active":
        raise InvalidState("swarm", swarm_id, swarm.status, "bidding (every member must accept)")
    if amount > milestone.budget_cap:
        raise Unprocessable(
            f"The bid of {amount} exceeds the milestone's budget cap of {milestone.budget_cap}.",
            code="amount_over_budget",
        )
    bid = Bid(
        id=uuid.uuid4(),
        milestone_id=milestone_id,
        swarm_id=swarm_id,
        amount=amount,
        plan=plan,
        status="submitted",
    )
    session.add(bid)
    await session.flush()
    await bid_event(session, "bid.submitted", bid, milestone)
    return bid


async def list_bids(
    session: AsyncSession, caller: Caller | None, milestone_id: uuid.UUID
) -> list[Bid]:
    """The steward and the admin see every bid; a swarm's members see their swarm's."""
    caller = policies.require_caller(caller)
    _, challenge = await _milestone(session, milestone_id, lock=False)
    query = select(Bid).where(Bid.milestone_id == milestone_id).order_by(Bid.created_at, Bid.id)
    if not (caller.is_admin or caller.is_org(challenge.steward_org_id)):
        mine = select(SwarmMember.swarm_id).where(SwarmMember.org_id == caller.org_id)
        query = query.where(Bid.swarm_id.in_(mine))
    return list(await session.scalars(query))


async def get_bid(session: AsyncSession, bid_id: uuid.UUID, *, lock: bool = False) -> Bid:
    bid = await session.get(Bid, bid_id, with_for_update=lock or None)
    if bid is None:
        raise NotFound("bid", bid_id)
    return bid


async def withdraw_bid(session: AsyncSession, caller: Caller | None, bid_id: uuid.UUID) -> Bid:
    caller = policies.require_caller(caller)
    bid = await get_bid(session, bid_id, lock=True)
    swarm = await swarms.get_swarm(session, bid.swarm_id)
    if not caller.is_org(swarm.lead_org_id):
        raise Forbidden("Only the swarm's lead may withdraw its bid.")
    if bid.status != "submitted":
        raise InvalidState("bid", bid_id, bid.status, "withdrawn")
    bid.status = "withdrawn"
    await session.flush()
    milestone = await session.get(Milestone, bid.milestone_id)
    assert milestone is not None
    await bid_event(session, "bid.withdrawn", bid, milestone)
    return bid


async def _member_ids(session: AsyncSession, swarm_id: uuid.UUID) -> set[uuid.UUID]:
    return {member.org_id for member in await swarms.members_of(session, swarm_id)}


def _conflicts(verifiers: list[str], members: set[uuid.UUID]) -> list[str]:
    return [org for org in verifiers if uuid.UUID(org) in members]


def _eligible(pledge: Pledge, milestone_id: uuid.UUID) -> bool:
    earmarked = pledge.earmark_milestone_ids
    return pledge.status in ("active", "exhausted") and (
        not earmarked or str(milestone_id) in earmarked
    )


async def award_bid(session: AsyncSession, caller: Caller | None, bid_id: uuid.UUID) -> Bid:
    """Escrow the bid's amount from the eligible pledges and reject the other bids."""
    policies.require_caller(caller)
    bid = await get_bid(session, bid_id)
    milestone, challenge = await _milestone(session, bid.milestone_id, lock=True)
    policies.require_steward_of(caller, challenge.steward_org_id, admin_too=False)
    await session.refresh(bid, with_for_update=True)
    if bid.status != "submitted":
        raise InvalidState("bid", bid_id, bid.status, "awarded")
    conflicted = _conflicts(milestone.verifier_org_ids, await _member_ids(session, bid.swarm_id))
    if conflicted:
        raise Conflict(
            f"Assigned verifiers {conflicted} are members of the bidding swarm.",
            code="conflict_of_interest",
        )
    advance(milestone, "award")
    await _escrow(session, challenge, milestone, bid)
    bid.status = "awarded"
    milestone.awarded_bid_id = bid.id
    await bid_event(session, "bid.awarded", bid, milestone)
    await reject_waiting_bids(session, milestone)
    await session.flush()
    return bid


async def reject_waiting_bids(session: AsyncSession, milestone: Milestone) -> None:
    """Bids still waiting on a milestone that was awarded to another, or cancelled."""
    waiting = await session.scalars(
        select(Bid)
        .where(Bid.milestone_id == milestone.id, Bid.status == "submitted")
        .order_by(Bid.id)
        .with_for_update()
    )
    for other in waiting:
        other.status = "rejected"
        await bid_event(session, "bid.rejected", other, milestone)


async def _escrow(
    session: AsyncSession, challenge: Challenge, milestone: Milestone, bid: Bid
) -> None:
    pledges = [
        p
        for p in await session.scalars(
            select(Pledge)
            .where(Pledge.challenge_id == challenge.id)
            .order_by(Pledge.id)
            .with_for_update()
        )
        if _eligible(p, milestone.id)
    ]
    ledger = Ledger(session)
    balances = await ledger.balances(chart.pledge_account_id(p.id, p.currency) for p in pledges)
    available = [
        (p.id, balances[chart.pledge_account_id(p.id, p.currency)].credit_balance)
        for p in pledges
        if chart.pledge_account_id(p.id, p.currency) in balances
    ]
    total = sum(amount for _, amount in available)
    if total < bid.amount:
        raise InsufficientFunds(
            f"Eligible pledges hold {total} {challenge.currency}; the bid needs {bid.amount}."
        )
    draws = allocate_pro_rata(bid.amount, available)
    drawn = [(pid, draw) for pid, draw in sorted(draws.items()) if draw > 0]
    escrows = await chart.escrow_accounts(
        ledger, milestone.id, [pid for pid, _ in drawn], challenge.currency
    )
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
    await post_parts(ledger, bid.id, "award", parts, meta)
    await record_flow.allocated(
        session, challenge.id, challenge.currency, milestone.id, sum(draws.values())
    )
    drained = {pid for pid, amount in available if draws.get(pid, 0) == amount}
    for pledge in pledges:
        if pledge.id in drained and pledge.hold_entry_id is None:
            pledge.status = "exhausted"


async def assign_verifiers(
    session: AsyncSession, caller: Caller | None, milestone_id: uuid.UUID, org_ids: list[uuid.UUID]
) -> Milestone:
    """The steward names the verifiers: organisations with the verifier role, at least the
    quorum of them, none a member of the awarded swarm."""
    policies.require_caller(caller)
    milestone, challenge = await _milestone(session, milestone_id, lock=True)
    policies.require_steward_of(caller, challenge.steward_org_id, admin_too=False)
    if milestone.status not in ("open", "awarded"):
        raise InvalidState("milestone", milestone_id, milestone.status, "given verifiers")
    unique = list(dict.fromkeys(org_ids))
    if not milestone.quorum <= len(unique) <= MAX_VERIFIERS:
        raise Unprocessable(
            f"Assign at least the quorum of {milestone.quorum} verifiers "
            f"(at most {MAX_VERIFIERS}).",
            code="too_few_verifiers",
        )
    orgs = {o.id: o for o in await session.scalars(select(Org).where(Org.id.in_(unique)))}
    lacking = [str(o) for o in unique if "verifier" not in getattr(orgs.get(o), "roles", [])]
    if lacking:
        raise Unprocessable(
            f"These organisations are not verifiers: {lacking}", code="not_a_verifier"
        )
    if milestone.awarded_bid_id is not None:
        bid = await get_bid(session, milestone.awarded_bid_id)
        conflicted = _conflicts([str(o) for o in unique], await _member_ids(session, bid.swarm_id))
        if conflicted:
            raise Conflict(
                f"Verifiers {conflicted} are members of the awarded swarm.",
                code="conflict_of_interest",
            )
    milestone.verifier_org_ids = [str(o) for o in unique]
    await session.flush()
    return milestone
