"""The steward's choice of a milestone's verifiers, and the conflicts of interest it must
avoid: nobody verifies work they are part of."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.delivery.milestones import lock
from app.domain.errors import Conflict, InvalidState, Unprocessable
from app.domain.identity.caller import Caller
from app.domain.identity.service import roles_of
from app.domain.store.bids import BidRepository
from app.domain.store.milestones import Milestone
from app.domain.store.swarms import SwarmRepository

MAX_VERIFIERS = 50


async def assign_verifiers(
    session: AsyncSession, caller: Caller | None, milestone_id: uuid.UUID, org_ids: list[uuid.UUID]
) -> Milestone:
    """The steward names the verifiers: organisations with the verifier role, at least the
    quorum of them, none a member of the awarded swarm."""
    policies.require_caller(caller)
    milestone, challenge = await lock(session, milestone_id)
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
    roles = await roles_of(session, unique)
    lacking = [str(o) for o in unique if "verifier" not in roles.get(o, [])]
    if lacking:
        raise Unprocessable(
            f"These organisations are not verifiers: {lacking}", code="not_a_verifier"
        )
    if milestone.awarded_bid_id is not None:
        swarm_id = await BidRepository(session).swarm_of(milestone.awarded_bid_id)
        members = await SwarmRepository(session).member_ids([swarm_id] if swarm_id else [])
        conflicted = [str(o) for o in unique if o in members]
        if conflicted:
            raise Conflict(
                f"Verifiers {conflicted} are members of the awarded swarm.",
                code="conflict_of_interest",
            )
    milestone.verifier_org_ids = [str(o) for o in unique]
    await session.flush()
    return milestone
