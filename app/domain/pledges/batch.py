"""A funder's portfolio: up to 100 pledges across challenges in one unit of work.

Every challenge named is locked first, in ascending id order (store.locks), so two batches
touching the same challenges never wait on each other in a cycle; then each item is pledged
in request order exactly as a single pledge would be (an earlier item's money can meet a
later item's threshold, or be matched by it). The first refused item refuses the batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import batches, policies
from app.domain.errors import NotFound
from app.domain.identity.caller import Caller
from app.domain.pledges.service import create_pledge
from app.domain.pledges.terms import PledgeSpec
from app.domain.store.challenges import ChallengeRepository
from app.domain.store.pledges import Pledge

PledgeItem = tuple[uuid.UUID, PledgeSpec]  # (challenge id, terms)


async def create_pledge_batch(
    session: AsyncSession, caller: Caller | None, items: Sequence[PledgeItem]
) -> list[Pledge]:
    """Make every item's pledge, or (an item refused) none; one pledge per item, in order."""
    policies.require_role(caller, "funder")
    assert 1 <= len(items) <= batches.MAX_PLEDGES, "the API bounds a batch's size"
    found = await ChallengeRepository(session).lock_existing(cid for cid, _ in items)
    made = []
    for index, (challenge_id, spec) in enumerate(items):
        with batches.item(index):
            if challenge_id not in found:
                raise NotFound("challenge", challenge_id)
            made.append(await create_pledge(session, caller, challenge_id, spec))
    return made
