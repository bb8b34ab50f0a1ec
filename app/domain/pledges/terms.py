"""What a funder may ask of a pledge: its kind's terms, earmarks, expiry and rollover.

Checked before any money moves, so a refused pledge changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import Conflict, Unprocessable
from app.domain.money.currency import spoken
from app.domain.pledges import ratio as match_ratio
from app.domain.store.challenges import Challenge, ChallengeRepository
from app.domain.store.milestones import MilestoneRepository
from app.domain.wording import listed
from app.sql.types import utcnow

KIND_TERMS: dict[str, set[str]] = {
    "direct": set(),
    "threshold": {"threshold_amount", "deadline"},
    "match": {"match_ratio"},
}


@dataclass(frozen=True)
class PledgeSpec:
    amount: int
    kind: str
    threshold_amount: int | None = None
    deadline: datetime | None = None
    match_ratio: Decimal | None = None
    earmark_milestone_ids: list[uuid.UUID] = field(default_factory=list)
    earmark_sdg_targets: list[str] = field(default_factory=list)
    expires_at: datetime | None = None
    on_expiry: str = "refund"
    on_completion: str = "refund"
    rollover_challenge_id: uuid.UUID | None = None
    anonymous: bool = False

    @property
    def rolls_over(self) -> bool:
        """Whether any of its remainder can go to another challenge (at expiry or at the
        challenge's completion)."""
        return "rollover" in (self.on_expiry, self.on_completion)


def ratio_bps(value: Decimal) -> int:
    """A match ratio as basis points (1.0 -> 10,000), exactly, or 422 invalid_ratio saying
    what a ratio may be (the API has parsed it already; the demo and services call this)."""
    try:
        return match_ratio.ratio_bps(match_ratio.parse_match_ratio(value))
    except match_ratio.RatioError as error:
        raise Unprocessable(str(error), code="invalid_ratio") from None


def _check_kind(spec: PledgeSpec, currency: str) -> None:
    needs = KIND_TERMS[spec.kind]
    given = {
        name
        for name in ("threshold_amount", "deadline", "match_ratio")
        if getattr(spec, name) is not None
    }
    if needs - given:
        raise Unprocessable(
            f"A {spec.kind} pledge needs {listed(sorted(needs))}.", code="invalid_pledge_terms"
        )
    if given - needs:
        raise Unprocessable(
            f"A {spec.kind} pledge takes no {listed(sorted(given - needs))}.",
            code="invalid_pledge_terms",
        )
    if spec.deadline is not None and spec.deadline <= utcnow():
        raise Unprocessable("deadline must be in the future.", code="invalid_pledge_terms")
    if spec.threshold_amount is not None and spec.threshold_amount <= spec.amount:
        raise Unprocessable(
            f"threshold_amount ({spoken(spec.threshold_amount, currency)}) must exceed the "
            f"pledge's own amount ({spoken(spec.amount, currency)}): a threshold the pledge "
            "meets alone is no condition.",
            code="invalid_pledge_terms",
        )


async def _check_earmarks(session: AsyncSession, challenge: Challenge, spec: PledgeSpec) -> None:
    if spec.earmark_milestone_ids:
        found = await MilestoneRepository(session).ids_in_challenge(
            challenge.id, spec.earmark_milestone_ids
        )
        if found != set(spec.earmark_milestone_ids):
            raise Unprocessable(
                "earmark.milestone_ids must be milestones of this challenge.",
                code="invalid_earmark",
            )
    if not set(spec.earmark_sdg_targets) <= set(challenge.sdg_targets):
        raise Unprocessable(
            f"earmark.sdg_targets must be among the challenge's targets "
            f"({listed(challenge.sdg_targets)}).",
            code="invalid_earmark",
        )


# Milestones whose verifiers still decide something: a verifier may not fund their challenge.
VERIFYING = ("open", "awarded", "claimed", "verified", "payout_pending", "disputed")


def check_funder_independent(challenge: Challenge, verifies: bool) -> None:
    """A verifier of one of the challenge's milestones may not become its funder (it would
    judge outcomes its own money pays for): 409 conflict_of_interest."""
    if verifies:
        raise Conflict(
            f"Conflict of interest: this organisation verifies milestones of challenge "
            f"{challenge.id}, so it cannot fund it.",
            code="conflict_of_interest",
        )


async def check_terms(session: AsyncSession, challenge: Challenge, spec: PledgeSpec) -> None:
    _check_kind(spec, challenge.currency)
    await _check_earmarks(session, challenge, spec)
    if spec.expires_at is not None and spec.expires_at <= utcnow():
        raise Unprocessable("expires_at must be in the future.", code="invalid_expiry")
    if spec.rolls_over:
        target_id = spec.rollover_challenge_id
        target = await ChallengeRepository(session).find(target_id) if target_id else None
        if target is None or target.id == challenge.id or target.currency != challenge.currency:
            raise Unprocessable(
                "rollover needs rollover_challenge_id: another challenge in the same currency.",
                code="invalid_rollover",
            )
    elif spec.rollover_challenge_id is not None:
        raise Unprocessable(
            "rollover_challenge_id needs on_expiry or on_completion 'rollover'.",
            code="invalid_rollover",
        )
