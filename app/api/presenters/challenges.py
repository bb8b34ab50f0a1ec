"""Challenges and milestones on the wire."""

from __future__ import annotations

from typing import Any

from app.api.schemas.challenges import ChallengeOut, TotalsOut
from app.api.schemas.milestones import MilestoneOut, OutcomeOut, PayoutOut
from app.domain.flows.totals import Totals
from app.domain.store.challenges import Challenge
from app.domain.store.milestones import Milestone

ChallengeWithTotals = tuple[Challenge, Totals]


def challenge_out(item: ChallengeWithTotals) -> ChallengeOut:
    challenge, totals = item
    return ChallengeOut(
        id=challenge.id,
        title=challenge.title,
        description=challenge.description,
        currency=challenge.currency,
        sdg_targets=challenge.sdg_targets,
        region=challenge.region,
        status=challenge.status,
        steward_org_id=challenge.steward_org_id,
        closes_at=challenge.closes_at,
        dispute_window_seconds=challenge.dispute_window_seconds,
        host_fee_bps=challenge.host_fee_bps,
        host_org_id=challenge.host_org_id,
        created_at=challenge.created_at,
        totals=TotalsOut.model_validate(totals, from_attributes=True),
    )


def milestone_out(
    milestone: Milestone,
    payout: dict[str, Any] | None = None,
    outcome: dict[str, str] | None = None,
) -> MilestoneOut:
    out = MilestoneOut.model_validate(milestone)
    return out.model_copy(
        update={
            "payout": PayoutOut.model_validate(payout) if payout else None,
            "outcome": OutcomeOut.model_validate(outcome) if outcome else None,
        }
    )
