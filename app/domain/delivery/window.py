"""The dispute window: a verified claim on a challenge with `dispute_window_seconds` above 0
waits, its money in escrow, until the milestone's `pays_at`; then due work pays it.

At quorum the claim is `verified` and the milestone `payout_pending`; a dispute opened
before `pays_at` makes it `disputed` (disputes.py), and then only the panel decides. An
undisputed milestone is paid at `pays_at` by `pay_due_milestones`, through the one payout
path (payouts.pay), with the outcome the verifiers' counted approvals gave at quorum: those
cannot change meanwhile (verifiers cannot be reassigned once a claim is verified, and later
attestations are recorded uncounted). Exactly once across processes: each milestone is paid
in its own transaction under its challenge's lock, taken without waiting, then its own, and
only while it is still `payout_pending` past its `pays_at`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.delivery import rules
from app.domain.delivery.announce import claim_event
from app.domain.delivery.milestones import advance, lock_for_due_work
from app.domain.delivery.payouts import pay
from app.domain.due_items import DUE_BATCH, Transactor, process_each
from app.domain.store.bids import BidRepository
from app.domain.store.challenges import Challenge
from app.domain.store.claims import Attestation, Claim, ClaimRepository
from app.domain.store.milestones import Milestone, MilestoneRepository
from app.sql.types import utcnow


def counted_approvals(milestone: Milestone, votes: Sequence[Attestation]) -> list[int]:
    """The measured values of the counted approvals of the verifiers assigned now."""
    return [
        v.value
        for v in votes
        if v.counted
        and v.verdict == "approve"
        and v.value is not None
        and str(v.verifier_org_id) in milestone.verifier_org_ids
    ]


async def verified_value(session: AsyncSession, milestone: Milestone, claim: Claim) -> str:
    """The outcome value the verifiers gave the claim (the median of their approvals), as
    an exact fraction's string: what an upheld dispute keeps."""
    votes = await ClaimRepository(session).attestations_of(claim.id)
    return str(rules.median(counted_approvals(milestone, votes)))


async def await_window(
    session: AsyncSession,
    challenge: Challenge,
    milestone: Milestone,
    claim: Claim,
    approvals: list[int],
) -> None:
    """The claim reached its quorum on a challenge with a dispute window: verified, and the
    milestone waits until `pays_at` (challenge and milestone locked by the caller)."""
    claim.status = "verified"
    advance(milestone, "verify")
    advance(milestone, "await_disputes")
    milestone.pays_at = utcnow() + timedelta(seconds=challenge.dispute_window_seconds)
    bid = await BidRepository(session).get(claim.bid_id)
    await claim_event(
        session,
        "claim.verified",
        claim,
        milestone,
        bid.swarm_id,
        outcome_value=str(rules.median(approvals)),
        pays_at=milestone.pays_at.isoformat(),
    )
    await session.flush()


async def pay_due_milestones(database: Transactor, now: datetime) -> int:
    """Due work: pay each milestone whose dispute window closed undisputed."""

    async def find(session: AsyncSession) -> list[uuid.UUID]:
        return [m.id for m in await MilestoneRepository(session).payable(now, DUE_BATCH)]

    async def pay_one(session: AsyncSession, milestone_id: uuid.UUID) -> bool:
        locked = await lock_for_due_work(session, milestone_id)
        if locked is None:
            return False
        challenge, milestone = locked
        if milestone.status != "payout_pending" or milestone.pays_at is None:
            return False
        if milestone.pays_at > now:
            return False
        claim = await ClaimRepository(session).verified_of(milestone.id)
        if claim is None:
            return False
        votes = await ClaimRepository(session).attestations_of(claim.id)
        await pay(session, challenge, milestone, claim, counted_approvals(milestone, votes))
        await session.flush()
        return True

    return await process_each(database, find, pay_one)
