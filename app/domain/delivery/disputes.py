"""Disputes: a verified claim contested inside its dispute window, decided by a panel.

A funder whose pledge has escrow in the milestone, the challenge's steward or an assigned
verifier may open a dispute while the milestone is `payout_pending` and before its
`pays_at`: the milestone becomes `disputed` and nothing is paid. The steward appoints a
panel of at least three fresh verifiers (none conflicted, none of the claim's own
verifiers). A majority of the panel decides: approvals pay by the median of the approving
panel values through the one payout path (`upheld` if it equals the verifiers' value, else
`revised`); a rejecting majority makes the milestone `not_achieved` and returns its escrow
(`rejected`). The steward may replace panel members who do not answer: only the votes of
the members appointed now count. Disputes change under their milestone's lock.
"""

from __future__ import annotations

import uuid
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.delivery import rules
from app.domain.delivery.announce import claim_event
from app.domain.delivery.claims import get_claim
from app.domain.delivery.conflicts import conflicted
from app.domain.delivery.escrow import balances_of, pledges_escrowed
from app.domain.delivery.fees import escrow_fees, pay_fee, release_fees
from app.domain.delivery.milestones import advance, lock, return_escrows
from app.domain.delivery.payouts import pay
from app.domain.delivery.window import verified_value
from app.domain.errors import Conflict, Forbidden, InvalidState, NotFound, Unprocessable
from app.domain.identity.caller import Caller
from app.domain.identity.service import roles_of
from app.domain.store.bids import BidRepository
from app.domain.store.challenges import Challenge
from app.domain.store.claims import Claim, ClaimRepository
from app.domain.store.disputes import Dispute, DisputeRepository, PanelAttestation
from app.domain.store.milestones import Milestone
from app.domain.store.pledges import PledgeRepository
from app.sql.types import utcnow

MIN_PANEL = 3
MAX_PANEL = 25


async def _event(
    session: AsyncSession, event_type: str, dispute: Dispute, claim: Claim, milestone: Milestone
) -> None:
    """Dispute events reach the claim's audience, the opener and the panel."""
    bid = await BidRepository(session).get(claim.bid_id)
    also = [dispute.opened_by_org_id, *(uuid.UUID(o) for o in dispute.panel_org_ids)]
    await claim_event(
        session,
        event_type,
        claim,
        milestone,
        bid.swarm_id,
        also=also,
        dispute_id=str(dispute.id),
        dispute_status=dispute.status,
    )


async def _may_open(
    session: AsyncSession, caller: Caller, challenge: Challenge, milestone: Milestone
) -> bool:
    if caller.org_id is None:
        return False
    if (
        caller.org_id == challenge.steward_org_id
        or str(caller.org_id) in milestone.verifier_org_ids
    ):
        return True
    escrowed = await pledges_escrowed(session, milestone, challenge.currency)
    return caller.org_id in await PledgeRepository(session).funders_of(escrowed)


async def open_dispute(
    session: AsyncSession, caller: Caller | None, claim_id: uuid.UUID, *, reason: str
) -> Dispute:
    caller = policies.require_caller(caller)
    claim = await ClaimRepository(session).get(claim_id)
    milestone, challenge = await lock(session, claim.milestone_id)
    claim = await ClaimRepository(session).refresh(claim)
    if not await _may_open(session, caller, challenge, milestone):
        await get_claim(session, caller, claim_id)  # 404 unless the caller may see the claim
        raise Forbidden(
            "Only a funder with escrow in the milestone, the challenge's steward or an "
            "assigned verifier may dispute this claim."
        )
    if milestone.status == "disputed":
        raise InvalidState("milestone", milestone.id, "disputed", "disputed again")
    if claim.status != "verified" or milestone.status != "payout_pending":
        raise InvalidState("milestone", milestone.id, milestone.status, "disputed")
    assert milestone.pays_at is not None
    if milestone.pays_at <= utcnow():
        raise InvalidState(
            "milestone", milestone.id, f"payable since {milestone.pays_at.isoformat()}", "disputed"
        )
    dispute = Dispute(
        id=uuid.uuid4(),
        claim_id=claim.id,
        milestone_id=milestone.id,
        opened_by_org_id=caller.org_id,
        reason=reason,
        status="open",
        panel_org_ids=[],
        created_at=utcnow(),
    )
    DisputeRepository(session).add(dispute)
    advance(milestone, "dispute")
    await session.flush()
    await _event(session, "claim.disputed", dispute, claim, milestone)
    return dispute


async def _readable(session: AsyncSession, caller: Caller, dispute: Dispute) -> None:
    """Whoever may read the claim, the dispute's opener and its panel; else 404."""
    if caller.org_id is not None and (
        caller.org_id == dispute.opened_by_org_id or str(caller.org_id) in dispute.panel_org_ids
    ):
        return
    try:
        await get_claim(session, caller, dispute.claim_id)
    except NotFound:
        raise NotFound("dispute", dispute.id) from None


async def get_dispute(
    session: AsyncSession, caller: Caller | None, dispute_id: uuid.UUID
) -> Dispute:
    caller = policies.require_caller(caller)
    dispute = await DisputeRepository(session).get(dispute_id)
    await _readable(session, caller, dispute)
    return dispute


async def attestations_of(session: AsyncSession, dispute: Dispute) -> list[PanelAttestation]:
    return await DisputeRepository(session).attestations_of(dispute.id)


async def _locked(
    session: AsyncSession, caller: Caller, dispute_id: uuid.UUID
) -> tuple[Dispute, Claim, Milestone, Challenge]:
    repository = DisputeRepository(session)
    dispute = await repository.get(dispute_id)
    milestone, challenge = await lock(session, dispute.milestone_id)
    dispute = await repository.refresh(dispute)
    await _readable(session, caller, dispute)
    claim = await ClaimRepository(session).get(dispute.claim_id)
    return dispute, claim, milestone, challenge


async def _check_panel(
    session: AsyncSession, challenge: Challenge, milestone: Milestone, unique: list[uuid.UUID]
) -> None:
    if not MIN_PANEL <= len(unique) <= MAX_PANEL:
        raise Unprocessable(
            f"A dispute panel has {MIN_PANEL} to {MAX_PANEL} distinct verifiers.",
            code="too_few_panelists",
        )
    roles = await roles_of(session, unique)
    lacking = [str(o) for o in unique if "verifier" not in roles.get(o, [])]
    if lacking:
        raise Unprocessable(
            f"These organisations are not verifiers: {lacking}", code="not_a_verifier"
        )
    reasons = await conflicted(session, challenge, milestone, unique)
    for org in unique:
        if str(org) in milestone.verifier_org_ids:
            reasons.setdefault(org, "one of the claim's own verifiers")
    if reasons:
        listed = "; ".join(f"{org} is {why}" for org, why in reasons.items())
        raise Conflict(f"Conflict of interest: {listed}.", code="conflict_of_interest")


async def set_panel(
    session: AsyncSession, caller: Caller | None, dispute_id: uuid.UUID, org_ids: list[uuid.UUID]
) -> Dispute:
    """The steward appoints (or replaces) the panel; the votes of members kept still count
    and may decide the dispute at once."""
    caller = policies.require_caller(caller)
    dispute, claim, milestone, challenge = await _locked(session, caller, dispute_id)
    policies.require_steward_of(caller, challenge.steward_org_id, admin_too=False)
    if dispute.status != "open":
        raise InvalidState("dispute", dispute_id, dispute.status, "given a panel")
    unique = list(dict.fromkeys(org_ids))
    await _check_panel(session, challenge, milestone, unique)
    dispute.panel_org_ids = [str(o) for o in unique]
    await session.flush()
    await escrow_fees(session, challenge, milestone)
    await _event(session, "dispute.panel_assigned", dispute, claim, milestone)
    await _decide(session, challenge, milestone, claim, dispute)
    return dispute


async def attest_dispute(
    session: AsyncSession,
    caller: Caller | None,
    dispute_id: uuid.UUID,
    *,
    verdict: str,
    value: int | None,
    note: str | None,
) -> tuple[PanelAttestation, Dispute]:
    caller = policies.require_role(caller, "verifier")
    dispute, claim, milestone, challenge = await _locked(session, caller, dispute_id)
    if str(caller.org_id) not in dispute.panel_org_ids:
        raise NotFound("dispute", dispute_id)
    if verdict == "approve" and value is None:
        raise Unprocessable("An approval states the measured value.", code="value_required")
    repository = DisputeRepository(session)
    votes = await repository.attestations_of(dispute_id)
    if any(vote.verifier_org_id == caller.org_id for vote in votes):
        raise Conflict("This panel member has already attested.", code="already_attested")
    if dispute.status != "open":
        raise InvalidState("dispute", dispute_id, dispute.status, "attested")
    reasons = await conflicted(session, challenge, milestone, [caller.org_id])
    if reasons:
        raise Conflict(
            f"Conflict of interest: this verifier is {next(iter(reasons.values()))}.",
            code="conflict_of_interest",
        )
    attestation = PanelAttestation(
        id=uuid.uuid4(),
        dispute_id=dispute_id,
        verifier_org_id=caller.org_id,
        verdict=verdict,
        value=value,
        note=note,
        created_at=utcnow(),
    )
    repository.add(attestation)
    await session.flush()
    await pay_fee(session, challenge, milestone, attestation.verifier_org_id, dispute)
    await _decide(session, challenge, milestone, claim, dispute)
    return attestation, dispute


async def _decide(
    session: AsyncSession,
    challenge: Challenge,
    milestone: Milestone,
    claim: Claim,
    dispute: Dispute,
) -> None:
    """A majority of the panel appointed now decides; until then nothing changes."""
    panel = set(dispute.panel_org_ids)
    if not panel:
        return
    votes = [
        v
        for v in await DisputeRepository(session).attestations_of(dispute.id)
        if str(v.verifier_org_id) in panel
    ]
    majority = len(panel) // 2 + 1
    approvals = [v.value for v in votes if v.verdict == "approve" and v.value is not None]
    rejections = sum(1 for v in votes if v.verdict == "reject")
    if len(approvals) >= majority:
        value = rules.median(approvals)
        original = Fraction(await verified_value(session, milestone, claim))
        dispute.status = "upheld" if value == original else "revised"
        await pay(session, challenge, milestone, claim, approvals)
        await session.flush()
        payout = await ClaimRepository(session).payout_of(milestone.id)
        dispute.outcome_value = payout.outcome_value if payout is not None else None
    elif rejections >= majority:
        dispute.status = "rejected"
        claim.status = "rejected"
        advance(milestone, "not_achieve")
        escrows = await balances_of(session, milestone, challenge.currency)
        await return_escrows(
            session, milestone, challenge.currency, dict(escrows), "dispute_rejected"
        )
        await release_fees(session, milestone, challenge.currency, "dispute_rejected")
    else:
        return
    dispute.resolved_at = utcnow()
    await session.flush()
    await _event(session, "dispute.resolved", dispute, claim, milestone)
