"""Milestones on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StrictInt, StringConstraints

from app.api.schemas.base import (
    MAX_AMOUNT_EXCLUSIVE,
    AmountMinor,
    Name,
    RequestModel,
    ResponseModel,
)
from app.api.schemas.challenges import SdgTarget, Text

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Target = Annotated[StrictInt, Field(gt=0, lt=MAX_AMOUNT_EXCLUSIVE)]
Quorum = Annotated[StrictInt, Field(ge=1, le=50)]
MAX_VERIFICATION_WINDOW_SECONDS = 7_776_000  # 90 days
MilestoneStatus = Literal[
    "draft",
    "open",
    "awarded",
    "claimed",
    "verified",
    "payout_pending",
    "disputed",
    "paid",
    "not_achieved",
    "failed",
    "cancelled",
]


class MilestoneCreate(RequestModel):
    title: Name
    description: Text = ""
    metric: Short
    unit: Unit
    target: Target
    payout_rule: Literal["pro_rata", "binary"]
    budget_cap: AmountMinor
    quorum: Quorum
    due_at: AwareDatetime
    verification_window_seconds: Annotated[
        StrictInt,
        Field(
            ge=0,
            le=MAX_VERIFICATION_WINDOW_SECONDS,
            description="How long verifiers may attest a claim after the due date (or after "
            "the claim, if later); default a week.",
        ),
    ] = 604_800
    sdg_targets: list[SdgTarget] = Field(
        default_factory=list,
        max_length=20,
        description="Targets of the challenge this milestone serves; pledges earmarked to SDG "
        "targets fund only milestones tagged with one of theirs.",
    )
    verifier_fee: Annotated[
        StrictInt,
        Field(
            ge=0,
            lt=MAX_AMOUNT_EXCLUSIVE,
            description="Paid to each assigned verifier that attests; escrowed from the "
            "milestone's pledges when verifiers are assigned (default 0).",
        ),
    ] = 0


class RetenderIn(RequestModel):
    due_at: AwareDatetime
    target: Target | None = None
    budget_cap: AmountMinor | None = None
    quorum: Quorum | None = None


class PayoutSplitOut(ResponseModel):
    org_id: uuid.UUID
    amount: int


class PayoutOut(ResponseModel):
    amount: int
    outcome_value: str = Field(description="Median of the approvers' values, as an exact decimal")
    outcome_fraction: str = Field(description="min(1, value/target) or 0/1, as a decimal")
    splits: list[PayoutSplitOut]


class OutcomeOut(ResponseModel):
    value: str = Field(description="The verified value (median of the approvers' values)")
    fraction: str = Field(description="What share of the award it earned, as a decimal")


class MilestoneOut(ResponseModel):
    id: uuid.UUID
    challenge_id: uuid.UUID
    title: str
    description: str
    metric: str
    unit: str
    target: int
    payout_rule: Literal["pro_rata", "binary"]
    budget_cap: int
    quorum: int
    due_at: datetime
    verification_window_seconds: int
    sdg_targets: list[str]
    status: MilestoneStatus
    verifier_org_ids: list[uuid.UUID]
    awarded_bid_id: uuid.UUID | None
    retender_of: uuid.UUID | None
    verifier_fee: int
    pays_at: datetime | None = Field(
        default=None,
        description="When a verified milestone in its dispute window is paid unless disputed",
    )
    payout: PayoutOut | None = None
    outcome: OutcomeOut | None = Field(
        default=None, description="The verified outcome, once verified (paid or not achieved)"
    )
    created_at: datetime
