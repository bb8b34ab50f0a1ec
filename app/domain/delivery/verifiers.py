"""The steward's choice of a milestone's verifiers, and the conflicts of interest it must
avoid: nobody verifies work they run, fund or bid for.

A verifier may not be the challenge's steward, a funder with a pledge on the challenge, or a
member of any swarm that bid on the milestone (409 `conflict_of_interest`). The steward may
replace verifiers while a claim waits for them: attestations of verifiers kept in the set
still count, those of verifiers taken out stop counting, and the claim gets a new
`verify_by`. Each assignment brings the fee escrow to the fees of the verifiers assigned
and not yet paid (fees.py): 409 `insufficient_funds`, and nothing changes, if the pool is short.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.delivery.claims import decide, verify_by
from app.domain.delivery.conflicts import conflicted
from app.domain.delivery.fees import escrow_fees
from app.domain.delivery.milestones import lock
from app.domain.errors import Conflict, InvalidState, Unprocessable
from app.domain.identity.caller import Caller
from app.domain.identity.service import roles_of
from app.domain.store.challenges import Challenge
from app.domain.store.claims import ClaimRepository
from app.domain.store.milestones import Milestone
from app.domain.wording import listed
from app.sql.types import utcnow

MAX_VERIFIERS = 50
ASSIGNABLE = ("open", "awarded", "claimed")


async def _check(
    session: AsyncSession, challenge: Challenge, milestone: Milestone, unique: list[uuid.UUID]
) -> None:
    if not milestone.quorum <= len(unique) <= MAX_VERIFIERS:
        raise Unprocessable(
            f"Assign at least the quorum of {milestone.quorum} verifiers "
            f"(at most {MAX_VERIFIERS}).",
            code="too_few_verifiers",
        )
    roles = await roles_of(session, unique)
    lacking = [str(o) for o in unique if "verifier" not in roles.get(o, [])]
    if lacking:
        raise Unprocessable(
            f"Only organisations with the verifier role can verify; {listed(lacking)} "
            f"{'lacks' if len(lacking) == 1 else 'lack'} it.",
            code="not_a_verifier",
        )
    reasons = await conflicted(session, challenge, milestone, unique)
    if reasons:
        said = "; ".join(f"{org} is {why}" for org, why in reasons.items())
        raise Conflict(f"Conflict of interest: {said}.", code="conflict_of_interest")


async def assign_verifiers(
    session: AsyncSession, caller: Caller | None, milestone_id: uuid.UUID, org_ids: list[uuid.UUID]
) -> Milestone:
    """The steward names the verifiers: organisations with the verifier role, at least the
    quorum of them, none conflicted."""
    policies.require_caller(caller)
    milestone, challenge = await lock(session, milestone_id)
    policies.require_steward_of(caller, challenge.steward_org_id, admin_too=False)
    if milestone.status not in ASSIGNABLE:
        raise InvalidState("milestone", milestone_id, milestone.status, "given verifiers")
    unique = list(dict.fromkeys(org_ids))
    await _check(session, challenge, milestone, unique)
    milestone.verifier_org_ids = [str(o) for o in unique]
    await session.flush()
    await escrow_fees(session, challenge, milestone)
    if milestone.status == "claimed":
        await _replace_on_waiting_claims(session, challenge, milestone)
    return milestone


async def _replace_on_waiting_claims(
    session: AsyncSession, challenge: Challenge, milestone: Milestone
) -> None:
    """The claim waiting for verifiers gets a new verify_by; only the attestations of the
    verifiers now assigned count, and they may decide it at once."""
    repository = ClaimRepository(session)
    for claim in await repository.submitted_of(milestone.id):
        claim.verify_by = verify_by(milestone, utcnow())
        votes = await repository.attestations_of(claim.id)
        for vote in votes:
            if str(vote.verifier_org_id) not in milestone.verifier_org_ids:
                vote.counted = False
        await session.flush()
        await decide(session, challenge, milestone, claim, votes)
