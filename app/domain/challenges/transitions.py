"""A challenge's life after it is created: open, close, complete, cancel.

    draft -> open -> closed -> completed      (open -> completed too)
    draft, open, closed -> cancelled

Each is one transaction under the challenge's lock. Closing releases what pledges still
hold. Completing (once no milestone is still being delivered, verified or disputed) cancels
milestones nobody took, rejects waiting bids and settles every pledge's remainder by its
`on_completion`: back to the wallet, or rolled into a new pledge on another open challenge.
Cancelling fails every milestone in delivery (their escrow returns) and returns every
unspent cent to the funders' wallets. The challenge's one transition table
(challenges.rules) decides what is allowed.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.assurance import service as assurance
from app.domain.challenges import rules
from app.domain.challenges.service import challenge_data
from app.domain.delivery.milestones import IN_DELIVERY, end_milestones
from app.domain.errors import InvalidState
from app.domain.events.publish import emit
from app.domain.identity.caller import Caller
from app.domain.pledges import settlement
from app.domain.store.challenges import Challenge, ChallengeRepository
from app.domain.store.milestones import MilestoneRepository
from app.domain.store.pledges import PledgeRepository
from app.sql.transactions import TransientError

STATUS_EVENTS = {
    "open": "challenge.opened",
    "closed": "challenge.closed",
    "completed": "challenge.completed",
    "cancelled": "challenge.cancelled",
}
# How each action reads in "it cannot be …" (no suffix grammar).
PARTICIPLES = {"open": "opened", "close": "closed", "complete": "completed", "cancel": "cancelled"}


class RolloverTargetsChanged(TransientError):
    """A pledge naming another rollover challenge arrived between reading the targets and
    locking them: the unit of work starts over and locks them all, in id order."""


async def _lock_for_completion(
    session: AsyncSession, challenge_id: uuid.UUID
) -> tuple[Challenge, dict[uuid.UUID, Challenge]]:
    """The challenge and every challenge its pledges roll over into, locked together in
    ascending id order (store.locks), and the rollover targets read again under the lock."""
    pledges = PledgeRepository(session)
    wanted = await pledges.completion_targets(challenge_id)
    locked = await ChallengeRepository(session).lock_together({challenge_id, *wanted})
    if not await pledges.completion_targets(challenge_id) <= locked.keys():
        raise RolloverTargetsChanged(f"rollover targets of challenge {challenge_id} changed")
    return locked.pop(challenge_id), locked


async def _ensure_nothing_in_delivery(session: AsyncSession, challenge: Challenge) -> None:
    for milestone in await MilestoneRepository(session).of_challenge(challenge.id):
        if milestone.status in IN_DELIVERY:
            raise InvalidState(
                "challenge",
                challenge.id,
                f"{challenge.status} with milestone {milestone.id} {milestone.status}",
                "completed until every milestone is paid, failed, not achieved or cancelled",
            )


async def transition(
    session: AsyncSession, caller: Caller | None, challenge_id: uuid.UUID, action: str
) -> Challenge:
    """Open, close, complete or cancel the challenge, with everything that follows from it,
    in the same transaction."""
    policies.require_caller(caller)
    targets: dict[uuid.UUID, Challenge] = {}
    if action == "complete":
        challenge, targets = await _lock_for_completion(session, challenge_id)
    else:
        challenge = await ChallengeRepository(session).lock(challenge_id)
    policies.require_steward_of(caller, challenge.steward_org_id, admin_too=True)
    target = rules.next_state(rules.CHALLENGE_TRANSITIONS, action, challenge.status)
    if target is None:
        raise InvalidState("challenge", challenge_id, challenge.status, PARTICIPLES[action])
    if action == "close":
        await settlement.release_held(session, challenge)
    if action == "complete":
        await _ensure_nothing_in_delivery(session, challenge)
        await end_milestones(session, challenge, "challenge completed")
        await settlement.settle_completion(session, challenge, targets)
        await assurance.return_remaining(session, challenge, "challenge completed")
    if action == "cancel":
        await end_milestones(session, challenge, "challenge cancelled")
        await settlement.refund_all(session, challenge)
        await assurance.return_remaining(session, challenge, "challenge cancelled")
    challenge.status = target
    await session.flush()
    await emit(
        session,
        STATUS_EVENTS[target],
        challenge_data(challenge),
        orgs=[challenge.steward_org_id],
        public=True,
    )
    return challenge
