"""A challenge's life after it is created: open, close, cancel.

Each is one transaction under the challenge's lock. Closing releases what pledges still
hold; cancelling ends every milestone (their escrow returns to the pledges) and returns
every unspent cent to the funders' wallets. The challenge's one transition table
(challenges.rules) decides what is allowed.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.challenges import rules
from app.domain.challenges.service import challenge_data
from app.domain.delivery.milestones import end_milestones
from app.domain.errors import InvalidState
from app.domain.events.publish import emit
from app.domain.identity.caller import Caller
from app.domain.pledges import settlement
from app.domain.store.challenges import Challenge, ChallengeRepository

STATUS_EVENTS = {
    "open": "challenge.opened",
    "closed": "challenge.closed",
    "completed": "challenge.completed",
    "cancelled": "challenge.cancelled",
}
# How each action reads in "it cannot be …" (no suffix grammar).
PARTICIPLES = {"open": "opened", "close": "closed", "complete": "completed", "cancel": "cancelled"}


async def transition(
    session: AsyncSession, caller: Caller | None, challenge_id: uuid.UUID, action: str
) -> Challenge:
    """Open, close or cancel; closing releases what is still held, cancelling returns every
    unspent cent to the funders' wallets, in the same transaction."""
    policies.require_caller(caller)
    challenge = await ChallengeRepository(session).lock(challenge_id)
    policies.require_steward_of(caller, challenge.steward_org_id, admin_too=True)
    target = rules.next_state(rules.CHALLENGE_TRANSITIONS, action, challenge.status)
    if target is None:
        raise InvalidState("challenge", challenge_id, challenge.status, PARTICIPLES[action])
    if action == "close":
        await settlement.release_held(session, challenge)
    if action == "cancel":
        await end_milestones(session, challenge, "challenge cancelled")
        await settlement.refund_all(session, challenge)
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
