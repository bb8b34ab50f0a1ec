"""Delivery events: for the swarm's members and the challenge's steward (and, for claims,
the assigned verifiers; for payouts, the funders whose pledges paid)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events.publish import emit
from app.domain.store.bids import Bid, BidRepository
from app.domain.store.challenges import ChallengeRepository
from app.domain.store.claims import Claim
from app.domain.store.milestones import Milestone
from app.domain.store.swarms import SwarmRepository


async def _audience(
    session: AsyncSession, milestone: Milestone, swarm_id: uuid.UUID | None
) -> list[uuid.UUID]:
    steward = await ChallengeRepository(session).steward_of(milestone.challenge_id)
    members = (
        [m.org_id for m in await SwarmRepository(session).members_of(swarm_id)] if swarm_id else []
    )
    return [org for org in [steward, *members] if org is not None]


def _milestone_data(milestone: Milestone) -> dict[str, Any]:
    return {"milestone_id": str(milestone.id), "challenge_id": str(milestone.challenge_id)}


async def bid_event(
    session: AsyncSession, event_type: str, bid: Bid, milestone: Milestone, **extra: Any
) -> None:
    data = {
        **_milestone_data(milestone),
        "bid_id": str(bid.id),
        "swarm_id": str(bid.swarm_id),
        "amount": bid.amount,
        "status": bid.status,
        **extra,
    }
    await emit(session, event_type, data, orgs=await _audience(session, milestone, bid.swarm_id))


async def claim_event(
    session: AsyncSession,
    event_type: str,
    claim: Claim,
    milestone: Milestone,
    swarm_id: uuid.UUID,
    *,
    also: Iterable[uuid.UUID] = (),
    **extra: Any,
) -> None:
    verifiers = [uuid.UUID(v) for v in milestone.verifier_org_ids]
    data = {
        **_milestone_data(milestone),
        "claim_id": str(claim.id),
        "status": claim.status,
        **extra,
    }
    orgs = [*await _audience(session, milestone, swarm_id), *verifiers, *also]
    await emit(session, event_type, data, orgs=orgs)


async def milestone_failed(session: AsyncSession, milestone: Milestone, reason: str) -> None:
    swarm_id = await BidRepository(session).swarm_of(milestone.awarded_bid_id)
    await emit(
        session,
        "milestone.failed",
        {**_milestone_data(milestone), "reason": reason},
        orgs=await _audience(session, milestone, swarm_id),
    )
