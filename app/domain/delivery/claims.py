"""Claims and attestations: actors are paid on outcomes a quorum has verified.

The awarded swarm's lead claims with evidence before the due date; each assigned verifier
attests once, until the claim's `verify_by` (the later of the due date and the claim's
submission, plus the milestone's verification window). At `quorum` approvals the claim is
verified and paid in the same transaction (payouts), or, on a challenge with a dispute
window, verified now and paid when the window closes undisputed (window, disputes); at
n - quorum + 1 rejections it is rejected and the swarm may claim again until the due date.
A claim still short of its quorum at `verify_by` waits: the steward may replace verifiers
(verifiers.py). An assigned verifier who attests after the claim was decided is recorded,
`counted: false`: dissent is never lost. Claims and attestations change under their
challenge's and milestone's locks.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.delivery import rules
from app.domain.delivery.announce import claim_event
from app.domain.delivery.conflicts import conflicted
from app.domain.delivery.fees import pay_fee
from app.domain.delivery.milestones import advance, allows, lock
from app.domain.delivery.payouts import pay
from app.domain.delivery.window import await_window
from app.domain.errors import Conflict, Forbidden, InvalidState, NotFound, Unprocessable
from app.domain.identity.caller import Caller
from app.domain.store.bids import Bid, BidRepository
from app.domain.store.challenges import Challenge, ChallengeRepository
from app.domain.store.claims import Attestation, Claim, ClaimRepository
from app.domain.store.milestones import Milestone, MilestoneRepository
from app.domain.store.swarms import SwarmRepository
from app.sql.types import utcnow


def verify_by(milestone: Milestone, moment: datetime) -> datetime:
    """Until when a claim made (or given new verifiers) at `moment` can be attested."""
    start = max(milestone.due_at, moment)
    return start + timedelta(seconds=milestone.verification_window_seconds)


async def _awarded_bid(session: AsyncSession, milestone: Milestone, action: str) -> Bid:
    if milestone.awarded_bid_id is None:
        raise InvalidState("milestone", milestone.id, milestone.status, action)
    return await BidRepository(session).get(milestone.awarded_bid_id)


async def submit_claim(
    session: AsyncSession,
    caller: Caller | None,
    milestone_id: uuid.UUID,
    *,
    reported_value: int,
    evidence: list[dict[str, str]],
) -> Claim:
    caller = policies.require_role(caller, "actor")
    milestone, _ = await lock(session, milestone_id)
    if not allows("claim", milestone.status):
        raise InvalidState("milestone", milestone_id, milestone.status, "claimed")
    bid = await _awarded_bid(session, milestone, "claimed")
    swarm = await SwarmRepository(session).get(bid.swarm_id)
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
        verify_by=verify_by(milestone, utcnow()),
    )
    advance(milestone, "claim")
    ClaimRepository(session).add(claim)
    await session.flush()
    await claim_event(session, "claim.submitted", claim, milestone, bid.swarm_id)
    return claim


async def get_claim(session: AsyncSession, caller: Caller | None, claim_id: uuid.UUID) -> Claim:
    """The steward, the swarm's members, the assigned verifiers and the admin."""
    caller = policies.require_caller(caller)
    claim = await ClaimRepository(session).get(claim_id)
    if caller.is_admin:
        return claim
    milestone = await MilestoneRepository(session).get(claim.milestone_id)
    bid = await _awarded_bid(session, milestone, "claimed")
    allowed = await SwarmRepository(session).member_ids([bid.swarm_id])
    allowed |= {uuid.UUID(v) for v in milestone.verifier_org_ids}
    steward = await ChallengeRepository(session).steward_of(milestone.challenge_id)
    if steward is not None:
        allowed.add(steward)
    if caller.org_id not in allowed:
        raise NotFound("claim", claim_id)
    return claim


async def attestations_of(session: AsyncSession, claim: Claim) -> list[Attestation]:
    """Every attestation of the claim, counted or not, oldest first."""
    return await ClaimRepository(session).attestations_of(claim.id)


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
    repository = ClaimRepository(session)
    claim = await repository.get(claim_id)
    milestone, challenge = await lock(session, claim.milestone_id)
    claim = await repository.refresh(claim)
    if str(caller.org_id) not in milestone.verifier_org_ids:
        raise NotFound("claim", claim_id)
    if verdict == "approve" and value is None:
        raise Unprocessable("An approval states the measured value.", code="value_required")
    votes = await repository.attestations_of(claim_id)
    if any(vote.verifier_org_id == caller.org_id for vote in votes):
        raise Conflict("This verifier has already attested the claim.", code="already_attested")
    reasons = await conflicted(session, challenge, milestone, [caller.org_id])
    if reasons:
        raise Conflict(
            f"Conflict of interest: this verifier is {next(iter(reasons.values()))}.",
            code="conflict_of_interest",
        )
    decided = claim.status != "submitted"
    if not decided and claim.verify_by is not None and claim.verify_by <= utcnow():
        raise InvalidState(
            "claim",
            claim_id,
            f"waiting for verifiers since its verify_by {claim.verify_by.isoformat()}",
            "attested (the steward may assign verifiers again)",
        )
    attestation = Attestation(
        id=uuid.uuid4(),
        claim_id=claim_id,
        verifier_org_id=caller.org_id,
        verdict=verdict,
        value=value,
        note=note,
        counted=not decided,
    )
    repository.add(attestation)
    await session.flush()
    await pay_fee(session, challenge, milestone, attestation.verifier_org_id)
    if decided:
        await _recorded_late(session, milestone, claim, attestation)
    else:
        await decide(session, challenge, milestone, claim, [*votes, attestation])
    return attestation, claim


async def _recorded_late(
    session: AsyncSession, milestone: Milestone, claim: Claim, attestation: Attestation
) -> None:
    bid = await BidRepository(session).get(claim.bid_id)
    await claim_event(
        session,
        "attestation.recorded",
        claim,
        milestone,
        bid.swarm_id,
        attestation_id=str(attestation.id),
        verifier_org_id=str(attestation.verifier_org_id),
        verdict=attestation.verdict,
        counted=False,
    )


async def decide(
    session: AsyncSession,
    challenge: Challenge,
    milestone: Milestone,
    claim: Claim,
    votes: list[Attestation],
) -> None:
    """Verify and pay the claim at quorum, or reject it when the quorum can no longer be
    reached; only attestations of the verifiers assigned now count."""
    counting = [
        v for v in votes if v.counted and str(v.verifier_org_id) in milestone.verifier_org_ids
    ]
    approvals = [v.value for v in counting if v.verdict == "approve" and v.value is not None]
    rejections = sum(1 for v in counting if v.verdict == "reject")
    if len(approvals) >= milestone.quorum and challenge.dispute_window_seconds > 0:
        await await_window(session, challenge, milestone, claim, approvals)
    elif len(approvals) >= milestone.quorum:
        await pay(session, challenge, milestone, claim, approvals)
    elif rejections >= rules.rejection_limit(len(milestone.verifier_org_ids), milestone.quorum):
        claim.status = "rejected"
        advance(milestone, "reject_claim")
        bid = await BidRepository(session).get(claim.bid_id)
        await claim_event(session, "claim.rejected", claim, milestone, bid.swarm_id)
    await session.flush()
