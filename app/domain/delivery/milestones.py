"""A milestone's life in one place: its state machine, and every way it ends.

    draft -> open -> awarded -> claimed -> verified -> paid
                                claimed -> awarded (the claim was rejected)
                                           verified -> not_achieved (the outcome pays nothing)
                                           verified -> payout_pending -> paid (dispute window)
                                payout_pending -> disputed -> paid / not_achieved (the panel)
    awarded -> failed (no claim submitted by the due date); awarded, claimed, payout_pending,
    disputed -> failed (the challenge cancelled); draft, open -> cancelled (the challenge
    cancelled or completed).
    failed, not_achieved, paid below target -> re-tendered as a new open milestone.

`MILESTONE_TRANSITIONS` is the one table of allowed moves and `advance` the only way a
milestone changes state. However a milestone ends (paid by `payouts`, failed or cancelled
here), what is left in its escrow goes back to the pledges it came from (`return_escrows`),
and a pledge that has ended meanwhile passes it straight on to its funder's wallet, so no
cent stays behind in an ended milestone or an ended pledge.

Every function that changes a milestone runs under its challenge's lock and its own
(store.locks).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.delivery.announce import bid_event, claim_event, milestone_failed
from app.domain.delivery.escrow import balances_of
from app.domain.delivery.fees import release_fees
from app.domain.delivery.movements import chunked, post_parts
from app.domain.due_items import DUE_BATCH, Transactor, process_each
from app.domain.errors import InvalidState, Unprocessable
from app.domain.flows import record as record_flow
from app.domain.identity.caller import Caller
from app.domain.money import chart, kinds
from app.domain.pledges import settlement
from app.domain.store.bids import Bid, BidRepository
from app.domain.store.challenges import Challenge, ChallengeRepository
from app.domain.store.claims import ClaimRepository
from app.domain.store.disputes import DisputeRepository
from app.domain.store.milestones import (
    DEFAULT_VERIFICATION_WINDOW_SECONDS,
    Milestone,
    MilestoneRepository,
)
from app.domain.store.pledges import PledgeRepository
from app.domain.wording import listed
from app.ledger import Ledger, Posting, derived_id
from app.sql.types import utcnow

MILESTONE_TRANSITIONS: dict[str, dict[str, str]] = {
    "award": {"open": "awarded"},
    "claim": {"awarded": "claimed"},
    "verify": {"claimed": "verified"},
    # With a dispute window the verified milestone waits to pay, and may be disputed.
    "await_disputes": {"verified": "payout_pending"},
    "dispute": {"payout_pending": "disputed"},
    "pay": {"verified": "paid", "payout_pending": "paid", "disputed": "paid"},
    "not_achieve": {
        "verified": "not_achieved",
        "payout_pending": "not_achieved",
        "disputed": "not_achieved",
    },
    "reject_claim": {"claimed": "awarded"},
    "fail": {
        "awarded": "failed",
        "claimed": "failed",
        "payout_pending": "failed",
        "disputed": "failed",
    },
    "cancel": {"draft": "cancelled", "open": "cancelled"},
    # Re-tendering leaves the milestone as it is and opens a new one in its place.
    "retender": {"failed": "failed", "not_achieved": "not_achieved", "paid": "paid"},
}
# Milestones whose money is still moving: a challenge cannot complete while one is.
IN_DELIVERY = ("awarded", "claimed", "verified", "payout_pending", "disputed")
# Milestones with escrow that fail when their challenge is cancelled.
ESCROWED = ("awarded", "claimed", "payout_pending", "disputed")


def advance(milestone: Milestone, action: str) -> None:
    """Move the milestone by `action`, or InvalidState if its table forbids that."""
    target = MILESTONE_TRANSITIONS.get(action, {}).get(milestone.status)
    if target is None:
        raise InvalidState("milestone", milestone.id, milestone.status, f"moved by '{action}'")
    milestone.status = target


def step_id(milestone_id: uuid.UUID, step: str) -> uuid.UUID:
    return derived_id(milestone_id, step)


def allows(action: str, status: str) -> bool:
    return status in MILESTONE_TRANSITIONS.get(action, {})


@dataclass(frozen=True)
class MilestoneSpec:
    title: str
    description: str
    metric: str
    unit: str
    target: int
    payout_rule: str
    budget_cap: int
    quorum: int
    due_at: datetime
    verification_window_seconds: int = DEFAULT_VERIFICATION_WINDOW_SECONDS
    sdg_targets: tuple[str, ...] = ()
    verifier_fee: int = 0


async def create_milestone(
    session: AsyncSession, caller: Caller | None, challenge_id: uuid.UUID, spec: MilestoneSpec
) -> Milestone:
    policies.require_caller(caller)
    challenge = await ChallengeRepository(session).lock(challenge_id)
    policies.require_steward_of(caller, challenge.steward_org_id, admin_too=False)
    if challenge.status not in ("draft", "open"):
        raise InvalidState("challenge", challenge_id, challenge.status, "given milestones")
    if spec.due_at <= utcnow():
        raise Unprocessable("due_at must be in the future.", code="invalid_due_at")
    outside = sorted(set(spec.sdg_targets) - set(challenge.sdg_targets))
    if outside:
        raise Unprocessable(
            f"The milestone's sdg_targets {listed(outside)} are not targets of its challenge "
            f"(it has {listed(challenge.sdg_targets)}).",
            code="invalid_sdg_target",
        )
    milestone = Milestone(
        id=uuid.uuid4(),
        challenge_id=challenge_id,
        title=spec.title,
        description=spec.description,
        metric=spec.metric,
        unit=spec.unit,
        target=spec.target,
        payout_rule=spec.payout_rule,
        budget_cap=spec.budget_cap,
        quorum=spec.quorum,
        due_at=spec.due_at,
        status="open",
        verifier_org_ids=[],
        verification_window_seconds=spec.verification_window_seconds,
        sdg_targets=sorted(set(spec.sdg_targets)),
        verifier_fee=spec.verifier_fee,
        created_at=utcnow(),
    )
    MilestoneRepository(session).add(milestone)
    await session.flush()
    return milestone


async def get_milestone(session: AsyncSession, milestone_id: uuid.UUID) -> Milestone:
    return await MilestoneRepository(session).get(milestone_id)


async def list_milestones(session: AsyncSession, challenge_id: uuid.UUID) -> list[Milestone]:
    await ChallengeRepository(session).get(challenge_id)
    return await MilestoneRepository(session).of_challenge(challenge_id)


async def lock(session: AsyncSession, milestone_id: uuid.UUID) -> tuple[Milestone, Challenge]:
    """The milestone and its challenge, locked in order: the challenge, then the milestone."""
    found = await MilestoneRepository(session).get(milestone_id)
    challenge = await ChallengeRepository(session).lock(found.challenge_id)
    milestone = await MilestoneRepository(session).lock(milestone_id, challenge_id=challenge.id)
    return milestone, challenge


async def return_escrows(
    session: AsyncSession,
    milestone: Milestone,
    currency: str,
    returns: dict[uuid.UUID, int],
    occasion: str,
) -> None:
    """Give each escrow's rest back to the pledge it came from. The pledges are locked
    first, so their status is read under the lock: one that has ended meanwhile (expired,
    refunded) passes the money straight on to its funder's wallet."""
    returning = sorted((pid, amount) for pid, amount in returns.items() if amount > 0)
    if not returning:
        return
    pledges = await PledgeRepository(session).lock_ids(
        milestone.challenge_id, [pid for pid, _ in returning]
    )
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
        for chunk in chunked(returning)
    ]
    ledger = Ledger(session)
    await post_parts(
        ledger,
        step_id(milestone.id, occasion),
        kinds.ESCROW_RETURN,
        parts,
        {"milestone_id": str(milestone.id), "reason": occasion},
    )
    await record_flow.allocated(
        session, milestone.challenge_id, currency, milestone.id, -sum(a for _, a in returning)
    )
    await settlement.refund_ended(ledger, pledges, f"{milestone.id}:{occasion}")


async def fail_milestone(
    session: AsyncSession, milestone: Milestone, challenge: Challenge, reason: str | None = None
) -> None:
    """An awarded or claimed milestone fails: its escrows return, open claims are rejected.
    The caller holds the challenge's and the milestone's locks."""
    advance(milestone, "fail")
    await milestone_failed(
        session, milestone, "no claim by the due date" if reason is None else reason
    )
    escrows = await balances_of(session, milestone, challenge.currency)
    await return_escrows(session, milestone, challenge.currency, dict(escrows), "failed")
    await release_fees(session, milestone, challenge.currency, "failed")
    swarm_id = await BidRepository(session).swarm_of(milestone.awarded_bid_id)
    for claim in await ClaimRepository(session).submitted_of(milestone.id):
        claim.status = "rejected"
        assert swarm_id is not None
        await claim_event(session, "claim.rejected", claim, milestone, swarm_id)
    for dispute in await DisputeRepository(session).open_of(milestone.id):
        dispute.status = "cancelled"
        dispute.resolved_at = utcnow()


async def lock_for_due_work(
    session: AsyncSession, milestone_id: uuid.UUID
) -> tuple[Challenge, Milestone] | None:
    """The milestone and its challenge, locked in order; None when it is gone or another
    process holds its challenge (due work moves on and comes back next round). The caller
    re-checks the milestone's state: it may have moved since it was found."""
    found = await MilestoneRepository(session).find(milestone_id)
    if found is None:
        return None
    claimed = await ChallengeRepository(session).try_lock_together([found.challenge_id])
    if claimed is None:
        return None
    challenge = claimed[found.challenge_id]
    milestone = await MilestoneRepository(session).lock(milestone_id, challenge_id=challenge.id)
    return challenge, milestone


async def fail_overdue_milestones(database: Transactor, now: datetime) -> int:
    """Due work: an awarded milestone past its due date with no claim waiting for its
    verifiers fails and its escrow returns. (A claim submitted in time waits for its
    verifiers, however slow: it is decided by attestations, never by the clock.)"""

    async def find(session: AsyncSession) -> list[uuid.UUID]:
        overdue = await MilestoneRepository(session).overdue(now, ("awarded",), DUE_BATCH)
        return [m.id for m in overdue]

    async def fail(session: AsyncSession, milestone_id: uuid.UUID) -> bool:
        locked = await lock_for_due_work(session, milestone_id)
        if locked is None:
            return False
        challenge, milestone = locked
        if milestone.status != "awarded" or milestone.due_at > now:
            return False
        if await ClaimRepository(session).submitted_of(milestone.id):
            return False
        await fail_milestone(session, milestone, challenge)
        return True

    return await process_each(database, find, fail)


async def reject_bids(session: AsyncSession, milestone: Milestone, bids: Sequence[Bid]) -> None:
    """Bids still waiting on a milestone that was awarded to another, or ended (locked by
    the caller)."""
    for bid in bids:
        if bid.milestone_id == milestone.id and bid.status == "submitted":
            bid.status = "rejected"
            await bid_event(session, "bid.rejected", bid, milestone)


async def end_milestones(session: AsyncSession, challenge: Challenge, reason: str) -> None:
    """The challenge ends: awarded or claimed milestones fail (escrow returns to the
    pledges), milestones nobody was awarded are cancelled, and bids still waiting are
    rejected. Locks go down the tree: milestones, then bids, then (returning) pledges."""
    milestones = await MilestoneRepository(session).of_challenge(challenge.id, lock=True)
    waiting = await BidRepository(session).lock_of_milestones(
        [m.id for m in milestones], challenge_id=challenge.id, status="submitted"
    )
    for milestone in milestones:
        await reject_bids(session, milestone, waiting)
    for milestone in milestones:
        if milestone.status in ESCROWED:
            await fail_milestone(session, milestone, challenge, reason)
        elif milestone.status in ("draft", "open"):
            advance(milestone, "cancel")
            await release_fees(session, milestone, challenge.currency, "cancelled")
    await session.flush()
