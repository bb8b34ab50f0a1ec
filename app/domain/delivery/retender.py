"""Re-tendering: what a failed, not-achieved or partly paid milestone left undone is offered
again as a new open milestone, funded by the same pledges (earmarks follow it).

Defaults (API.md): the new target is the old one minus the verified value that was paid for
(all of it after `failed` or `not_achieved`, rounded up to whole units), the new budget cap
the old cap minus what was paid.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.delivery.milestones import allows, lock
from app.domain.errors import InvalidState, Unprocessable
from app.domain.events.publish import emit
from app.domain.identity.caller import Caller
from app.domain.money.currency import spoken
from app.domain.store.claims import ClaimRepository
from app.domain.store.milestones import Milestone, MilestoneRepository
from app.sql.types import utcnow


@dataclass(frozen=True)
class RetenderSpec:
    due_at: datetime
    target: int | None = None
    budget_cap: int | None = None
    quorum: int | None = None


async def _left_undone(session: AsyncSession, milestone: Milestone) -> tuple[int, int]:
    """(units not yet paid for, budget not yet paid) of an ended milestone."""
    payout = await ClaimRepository(session).payout_of(milestone.id)
    if milestone.status != "paid" or payout is None:
        return milestone.target, milestone.budget_cap
    fraction = Fraction(payout.outcome_fraction)
    if fraction >= 1:
        raise InvalidState(
            "milestone", milestone.id, "paid in full", "re-tendered (nothing is left undone)"
        )
    paid_for = min(Fraction(payout.outcome_value), Fraction(milestone.target))
    units = math.ceil(milestone.target - paid_for)
    return units, max(milestone.budget_cap - payout.amount, 0)


async def retender(
    session: AsyncSession, caller: Caller | None, milestone_id: uuid.UUID, spec: RetenderSpec
) -> Milestone:
    policies.require_caller(caller)
    milestone, challenge = await lock(session, milestone_id)
    policies.require_steward_of(caller, challenge.steward_org_id, admin_too=False)
    if not allows("retender", milestone.status):
        raise InvalidState(
            "milestone",
            milestone_id,
            milestone.status,
            "re-tendered (only failed, not achieved or partly paid milestones can)",
        )
    if challenge.status not in ("open", "closed"):
        raise InvalidState("challenge", challenge.id, challenge.status, "given milestones")
    repository = MilestoneRepository(session)
    successor = await repository.retendered_as(milestone_id)
    if successor is not None:
        raise InvalidState(
            "milestone", milestone_id, f"re-tendered already as {successor.id}", "re-tendered"
        )
    units, budget = await _left_undone(session, milestone)
    target = spec.target if spec.target is not None else units
    budget_cap = spec.budget_cap if spec.budget_cap is not None else budget
    if spec.due_at <= utcnow():
        raise Unprocessable("due_at must be in the future.", code="invalid_due_at")
    if target <= 0 or budget_cap <= 0:
        raise Unprocessable(
            f"A re-tender needs a target and a budget cap above 0; here the target is {target} "
            f"{milestone.unit} and the budget cap {spoken(budget_cap, challenge.currency)}.",
            code="invalid_retender",
        )
    fresh = Milestone(
        id=uuid.uuid4(),
        challenge_id=challenge.id,
        title=milestone.title,
        description=milestone.description,
        metric=milestone.metric,
        unit=milestone.unit,
        target=target,
        payout_rule=milestone.payout_rule,
        budget_cap=budget_cap,
        quorum=spec.quorum if spec.quorum is not None else milestone.quorum,
        due_at=spec.due_at,
        status="open",
        verifier_org_ids=[],
        verification_window_seconds=milestone.verification_window_seconds,
        verifier_fee=milestone.verifier_fee,
        sdg_targets=list(milestone.sdg_targets),
        retender_of=milestone.id,
        created_at=utcnow(),
    )
    repository.add(fresh)
    await session.flush()
    await emit(
        session,
        "milestone.retendered",
        {
            "milestone_id": str(fresh.id),
            "retender_of": str(milestone.id),
            "challenge_id": str(challenge.id),
            "target": target,
            "budget_cap": budget_cap,
        },
        orgs=[challenge.steward_org_id],
        public=True,
    )
    return fresh
