"""Conflicts of interest: nobody verifies work they run, fund or bid for (API.md).

Checked when verifiers are assigned, again when one attests (a verifier who pledged since is
refused), and from the other side when a swarm with a verifier among its members bids, or a
verifier pledges to the challenge.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.store.bids import BidRepository
from app.domain.store.challenges import Challenge
from app.domain.store.milestones import Milestone
from app.domain.store.pledges import PledgeRepository
from app.domain.store.swarms import SwarmRepository


async def conflicted(
    session: AsyncSession,
    challenge: Challenge,
    milestone: Milestone,
    org_ids: Sequence[uuid.UUID | None],
) -> dict[uuid.UUID, str]:
    """Which of these organisations may not verify the milestone, and why: the challenge's
    steward, a funder with a pledge on the challenge, a member of any swarm that bid on it."""
    funders = await PledgeRepository(session).funders_of_challenge(challenge.id)
    bidders = await SwarmRepository(session).member_ids(
        await BidRepository(session).swarms_bidding_on(milestone.id)
    )
    reasons = {}
    for org_id in org_ids:
        if org_id is None:
            continue
        if org_id == challenge.steward_org_id:
            reasons[org_id] = "the challenge's steward"
        elif org_id in funders:
            reasons[org_id] = "a funder of the challenge"
        elif org_id in bidders:
            reasons[org_id] = "a member of a swarm that bid on the milestone"
    return reasons
