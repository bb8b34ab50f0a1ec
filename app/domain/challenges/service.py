"""Use cases of challenges and milestones: create, move through the state machine, read.

Totals are read from the ledger (the pledge accounts of the challenge), never kept by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.challenges import rules
from app.domain.challenges.models import Challenge, ChallengeTarget, Milestone
from app.domain.errors import InvalidState, NotFound, Unprocessable
from app.domain.events.publish import emit
from app.domain.flows import totals as flow_totals
from app.domain.flows.totals import Totals
from app.domain.identity.caller import Caller
from app.domain.money.currency import validate_currency
from app.domain.pledges import settlement
from app.ledger.sqltypes import utcnow

MAX_SDG_TARGETS = 20
STATUS_EVENTS = {
    "open": "challenge.opened",
    "closed": "challenge.closed",
    "completed": "challenge.completed",
    "cancelled": "challenge.cancelled",
}


@dataclass(frozen=True)
class ChallengeSpec:
    title: str
    description: str
    currency: str
    sdg_targets: Sequence[str]
    region: str | None
    closes_at: datetime | None


@dataclass(frozen=True)
class MilestoneSpec:
    title: str
    description: str
    metric: str
    unit: str
    target: int
    payout_rule: str
    budget_cap: int
    quorum: int
    due_at: datetime


def _validate(spec: ChallengeSpec) -> None:
    validate_currency(spec.currency)
    bad = [code for code in spec.sdg_targets if not rules.is_sdg_target(code)]
    if bad or not spec.sdg_targets or len(set(spec.sdg_targets)) > MAX_SDG_TARGETS:
        raise Unprocessable(
            f"sdg_targets must be 1-{MAX_SDG_TARGETS} UN SDG target codes such as '6.1'; "
            f"not targets: {bad}",
            code="invalid_sdg_target",
        )
    if spec.region is not None and not rules.is_region(spec.region):
        raise Unprocessable(
            f"region {spec.region!r} is not an ISO 3166 country (KE) or subdivision (KE-30).",
            code="invalid_region",
        )
    if spec.closes_at is not None and spec.closes_at <= utcnow():
        raise Unprocessable("closes_at must be in the future.", code="invalid_closes_at")


async def create_challenge(
    session: AsyncSession, caller: Caller | None, spec: ChallengeSpec
) -> Challenge:
    caller = policies.require_role(caller, "steward")
    _validate(spec)
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
        created_at=utcnow(),
    )
    session.add(challenge)
    session.add_all(
        ChallengeTarget(challenge_id=challenge.id, target=t, goal=rules.sdg_goal(t))
        for t in targets
    )
    await session.flush()
    await emit(session, "challenge.created", _challenge_data(challenge), orgs=[caller.org_id])
    return challenge


def _challenge_data(challenge: Challenge) -> dict[str, Any]:
    return {
        "challenge_id": str(challenge.id),
        "title": challenge.title,
        "currency": challenge.currency,
        "status": challenge.status,
    }


async def get_challenge(
    session: AsyncSession, challenge_id: uuid.UUID, *, lock: bool = False
) -> Challenge:
    challenge = await session.get(
        Challenge, challenge_id, with_for_update=lock or None, populate_existing=lock
    )
    if challenge is None:
        raise NotFound("challenge", challenge_id)
    return challenge


async def transition(
    session: AsyncSession, caller: Caller | None, challenge_id: uuid.UUID, action: str
) -> Challenge:
    """Open, close or cancel; closing releases what is still held, cancelling returns every
    unspent cent to the funders' wallets, in the same transaction."""
    policies.require_caller(caller)
    challenge = await get_challenge(session, challenge_id, lock=True)
    policies.require_steward_of(caller, challenge.steward_org_id, admin_too=True)
    target = rules.next_state(rules.CHALLENGE_TRANSITIONS, action, challenge.status)
    if target is None:
        raise InvalidState("challenge", challenge_id, challenge.status, f"{action}d")
    if action == "close":
        await settlement.release_held(session, challenge)
    if action == "cancel":
        # Imported here: delivery builds on challenges, so it cannot be imported at the top.
        from app.domain.delivery.claims import end_milestones

        await end_milestones(session, challenge)
        await settlement.refund_challenge(session, challenge)
    challenge.status = target
    await session.flush()
    await emit(
        session,
        STATUS_EVENTS[target],
        _challenge_data(challenge),
        orgs=[challenge.steward_org_id],
        public=True,
    )
    return challenge


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
) -> list[Challenge]:
    """Newest first; `sdg` is a goal ("6") or a target ("6.1"); `region` a country or
    subdivision."""
    query = select(Challenge).order_by(Challenge.created_at.desc(), Challenge.id.desc())
    if status is not None:
        query = query.where(Challenge.status == status)
    if past_draft:
        query = query.where(Challenge.status != "draft")
    if sdg is not None:
        column = ChallengeTarget.goal if sdg.isdigit() else ChallengeTarget.target
        value: int | str = int(sdg) if sdg.isdigit() else sdg
        query = query.where(
            Challenge.id.in_(select(ChallengeTarget.challenge_id).where(column == value))
        )
    if region is not None:
        field = Challenge.region_country if len(region) == 2 else Challenge.region
        query = query.where(field == region)
    if after is not None:
        created_at, last_id = after
        query = query.where(
            (Challenge.created_at < created_at)
            | ((Challenge.created_at == created_at) & (Challenge.id < last_id))
        )
    return list(await session.scalars(query.limit(limit)))


async def create_milestone(
    session: AsyncSession, caller: Caller | None, challenge_id: uuid.UUID, spec: MilestoneSpec
) -> Milestone:
    policies.require_caller(caller)
    challenge = await get_challenge(session, challenge_id, lock=True)
    policies.require_steward_of(caller, challenge.steward_org_id, admin_too=False)
    if challenge.status not in ("draft", "open"):
        raise InvalidState("challenge", challenge_id, challenge.status, "given milestones")
    if spec.due_at <= utcnow():
        raise Unprocessable("due_at must be in the future.", code="invalid_due_at")
    milestone = Milestone(
        id=uuid.uuid4(),
        challenge_id=challenge_id,
        title=spec.title,
        description=spec.description,
        metric=spec.metric,
        unit=spec.unit,
        target=spec.target,
        payout_rule=spec.payout_rule,
        budget_cap=spec.budget_cap,
        quorum=spec.quorum,
        due_at=spec.due_at,
        status="open",
        verifier_org_ids=[],
        created_at=utcnow(),
    )
    session.add(milestone)
    await session.flush()
    return milestone


async def list_milestones(session: AsyncSession, challenge_id: uuid.UUID) -> list[Milestone]:
    await get_challenge(session, challenge_id)
    return list(
        await session.scalars(
            select(Milestone)
            .where(Milestone.challenge_id == challenge_id)
            .order_by(Milestone.created_at, Milestone.id)
        )
    )


async def get_milestone(session: AsyncSession, milestone_id: uuid.UUID) -> Milestone:
    milestone = await session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("milestone", milestone_id)
    return milestone
