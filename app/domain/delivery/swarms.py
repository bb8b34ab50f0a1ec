"""Swarms: coalitions of actors that agree their revenue shares before they can bid."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.errors import Forbidden, InvalidState, Unprocessable
from app.domain.identity.caller import Caller
from app.domain.identity.service import roles_of
from app.domain.pledges.rules import BPS
from app.domain.store.swarms import Swarm, SwarmMember, SwarmRepository
from app.domain.wording import listed

MAX_MEMBERS = 20


async def create_swarm(
    session: AsyncSession,
    caller: Caller | None,
    *,
    name: str,
    members: Sequence[tuple[uuid.UUID, int]],
) -> Swarm:
    """The creator must be a member and becomes the lead; shares sum to 10,000 bps."""
    caller = policies.require_role(caller, "actor")
    ids = [org_id for org_id, _ in members]
    if len(set(ids)) != len(ids) or not 1 <= len(ids) <= MAX_MEMBERS:
        raise Unprocessable(
            f"A swarm has 1-{MAX_MEMBERS} distinct members.", code="invalid_members"
        )
    if caller.org_id not in ids:
        raise Unprocessable(
            "The creator of a swarm must be one of its members.", code="invalid_members"
        )
    if sum(share for _, share in members) != BPS or any(share <= 0 for _, share in members):
        raise Unprocessable(
            "Member shares are positive basis points summing to 10000.", code="invalid_shares"
        )
    roles = await roles_of(session, ids)
    not_actors = [str(org_id) for org_id in ids if "actor" not in roles.get(org_id, [])]
    if not_actors:
        raise Unprocessable(
            f"Swarm members must hold the actor role; {listed(not_actors)} "
            f"{'does' if len(not_actors) == 1 else 'do'} not.",
            code="not_an_actor",
        )
    repository = SwarmRepository(session)
    swarm = Swarm(id=uuid.uuid4(), name=name, lead_org_id=caller.org_id, status="forming")
    repository.add(swarm)
    await session.flush()
    repository.add_members(
        [
            SwarmMember(
                swarm_id=swarm.id,
                org_id=org_id,
                share_bps=share,
                accepted=org_id == caller.org_id,
                position=index,
            )
            for index, (org_id, share) in enumerate(members)
        ]
    )
    if len(ids) == 1:
        swarm.status = "active"
    await session.flush()
    return swarm


async def get_swarm(session: AsyncSession, swarm_id: uuid.UUID) -> Swarm:
    return await SwarmRepository(session).get(swarm_id)


async def members_of(session: AsyncSession, swarm_id: uuid.UUID) -> list[SwarmMember]:
    return await SwarmRepository(session).members_of(swarm_id)


async def accept(session: AsyncSession, caller: Caller | None, swarm_id: uuid.UUID) -> Swarm:
    """A member agrees to the swarm and its shares; the swarm is active once all have."""
    caller = policies.require_org(caller)
    repository = SwarmRepository(session)
    swarm = await repository.get(swarm_id, lock=True)
    members = await repository.members_of(swarm_id)
    mine = next((m for m in members if m.org_id == caller.org_id), None)
    if mine is None:
        raise Forbidden("Only a member of the swarm may accept it.")
    if swarm.status == "dissolved":
        raise InvalidState("swarm", swarm_id, swarm.status, "accepted")
    mine.accepted = True
    if all(m.accepted for m in members):
        swarm.status = "active"
    await session.flush()
    return swarm
