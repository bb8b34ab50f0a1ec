"""Use cases of challenges: create one, read one or a page of them, and their totals.

Totals come from the flow rollup, which every money movement writes in its own transaction
and which is reconciled against the journal (flows.reconcile), plus the ledger's holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.challenges import rules
from app.domain.errors import Unprocessable
from app.domain.events.publish import emit
from app.domain.flows import totals as flow_totals
from app.domain.flows.totals import Totals
from app.domain.identity.caller import Caller
from app.domain.identity.service import roles_of
from app.domain.money.currency import validate_currency
from app.domain.store.challenges import Challenge, ChallengeRepository
from app.domain.wording import listed, quoted
from app.sql.types import utcnow

MAX_SDG_TARGETS = 20


@dataclass(frozen=True)
class ChallengeSpec:
    title: str
    description: str
    currency: str
    sdg_targets: Sequence[str]
    region: str | None
    closes_at: datetime | None
    dispute_window_seconds: int = 0
    host_fee_bps: int = 0
    host_org_id: uuid.UUID | None = None


def _validate(spec: ChallengeSpec) -> None:
    validate_currency(spec.currency)
    bad = [quoted(code) for code in spec.sdg_targets if not rules.is_sdg_target(code)]
    if bad or not spec.sdg_targets or len(set(spec.sdg_targets)) > MAX_SDG_TARGETS:
        which = f"; {listed(bad)} {'is not one' if len(bad) == 1 else 'are not'}" if bad else ""
        raise Unprocessable(
            f"sdg_targets must be 1 to {MAX_SDG_TARGETS} UN SDG target codes such as 6.1 or "
            f"6.b{which}.",
            code="invalid_sdg_target",
        )
    if spec.region is not None and not rules.is_region(spec.region):
        raise Unprocessable(
            f"region {quoted(spec.region)} is not an ISO 3166 country (KE) or subdivision (KE-30).",
            code="invalid_region",
        )
    if spec.closes_at is not None and spec.closes_at <= utcnow():
        raise Unprocessable("closes_at must be in the future.", code="invalid_closes_at")


def challenge_data(challenge: Challenge) -> dict[str, Any]:
    """What a challenge's events say about it."""
    return {
        "challenge_id": str(challenge.id),
        "title": challenge.title,
        "currency": challenge.currency,
        "status": challenge.status,
    }


async def create_challenge(
    session: AsyncSession, caller: Caller | None, spec: ChallengeSpec
) -> Challenge:
    caller = policies.require_role(caller, "steward")
    _validate(spec)
    host = spec.host_org_id or caller.org_id
    assert host is not None
    if not await roles_of(session, [host]):
        raise Unprocessable(f"host_org_id {host} is not an organisation.", code="unknown_host_org")
    targets = sorted(set(spec.sdg_targets), key=lambda t: (rules.sdg_goal(t), t))
    challenge = Challenge(
        id=uuid.uuid4(),
        title=spec.title,
        description=spec.description,
        currency=spec.currency,
        sdg_targets=targets,
        region=spec.region,
        region_country=spec.region[:2] if spec.region else None,
        status="draft",
        steward_org_id=caller.org_id,
        closes_at=spec.closes_at,
        dispute_window_seconds=spec.dispute_window_seconds,
        host_fee_bps=spec.host_fee_bps,
        host_org_id=host,
        created_at=utcnow(),
    )
    ChallengeRepository(session).add(challenge, [(t, rules.sdg_goal(t)) for t in targets])
    await session.flush()
    await emit(session, "challenge.created", challenge_data(challenge), orgs=[caller.org_id])
    return challenge


async def get_challenge(session: AsyncSession, challenge_id: uuid.UUID) -> Challenge:
    return await ChallengeRepository(session).get(challenge_id)


async def totals(session: AsyncSession, challenge: Challenge) -> Totals:
    """held / available / allocated / paid / returned, from the flow rollup (which is
    reconciled with the ledger) and the ledger's holds."""
    return (await flow_totals.totals_of(session, [challenge.id]))[challenge.id]


async def totals_of(
    session: AsyncSession, challenge_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Totals]:
    """Totals of many challenges in two queries (lists and dashboards)."""
    return await flow_totals.totals_of(session, challenge_ids)


async def list_challenges(
    session: AsyncSession,
    *,
    status: str | None,
    sdg: str | None,
    region: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    past_draft: bool = False,
    text: str | None = None,
) -> list[Challenge]:
    """Newest first; `sdg` is a goal ("6") or a target ("6.1"); `region` a country or
    subdivision; `text` words that must all appear in the title or description."""
    return await ChallengeRepository(session).page(
        status=status,
        sdg=sdg,
        region=region,
        after=after,
        limit=limit,
        past_draft=past_draft,
        words=text.split() if text else [],
    )
