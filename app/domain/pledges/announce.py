"""Pledge events, for the funder and the challenge's steward; an anonymous pledge's event
never names its funder (the funder knows, the steward must not)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events.publish import emit
from app.domain.store.challenges import ChallengeRepository
from app.domain.store.pledges import Pledge


async def announce(session: AsyncSession, event_type: str, pledge: Pledge, **extra: Any) -> None:
    steward = await ChallengeRepository(session).steward_of(pledge.challenge_id)
    data: dict[str, Any] = {
        "pledge_id": str(pledge.id),
        "challenge_id": str(pledge.challenge_id),
        "kind": pledge.kind,
        "amount": pledge.amount,
        "currency": pledge.currency,
        "status": pledge.status,
        **extra,
    }
    if not pledge.anonymous:
        data["funder_org_id"] = str(pledge.funder_org_id)
    await emit(session, event_type, data, orgs=[pledge.funder_org_id, steward])
