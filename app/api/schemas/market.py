"""Challenges, milestones and pledges on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, PlainSerializer, StrictBool, StrictInt, StringConstraints

from app.api.schemas.base import (
    MAX_AMOUNT_EXCLUSIVE,
    AmountMinor,
    Name,
    RequestModel,
    ResponseModel,
)
from app.api.schemas.money import CurrencyCode

Text = Annotated[str, StringConstraints(max_length=10_000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SdgTarget = Annotated[str, StringConstraints(pattern=r"^\d{1,2}\.(\d{1,2}|[a-d])$")]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]
ChallengeStatus = Literal["draft", "open", "closed", "completed", "cancelled"]
Ratio = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class ChallengeCreate(RequestModel):
    title: Name
    description: Text = ""
    currency: CurrencyCode
    sdg_targets: list[SdgTarget] = Field(min_length=1, max_length=20)
    region: Region | None = None
    closes_at: AwareDatetime | None = None


class TotalsOut(ResponseModel):
    held: int
    available: int
    allocated: int
    paid: int
    returned: int


class ChallengeOut(ResponseModel):
    id: uuid.UUID
    title: str
    description: str
    currency: str
    sdg_targets: list[str]
    region: str | None
    status: ChallengeStatus
    steward_org_id: uuid.UUID
    closes_at: datetime | None
    created_at: datetime
    totals: TotalsOut


class MilestoneCreate(RequestModel):
    title: Name
    description: Text = ""
    metric: Short
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    target: Annotated[StrictInt, Field(gt=0, lt=MAX_AMOUNT_EXCLUSIVE)]
    payout_rule: Literal["pro_rata", "binary"]
    budget_cap: AmountMinor
    quorum: Annotated[StrictInt, Field(ge=1, le=50)]
    due_at: AwareDatetime


class PayoutSplitOut(ResponseModel):
    org_id: uuid.UUID
    amount: int


class PayoutOut(ResponseModel):
    amount: int
    outcome_value: str = Field(description="Median of the approvers' values, as an exact decimal")
    outcome_fraction: str = Field(description="min(1, value/target) or 0/1, as a decimal")
    splits: list[PayoutSplitOut]


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
    status: str
    verifier_org_ids: list[uuid.UUID]
    awarded_bid_id: uuid.UUID | None
    payout: PayoutOut | None = None
    created_at: datetime


class Earmark(RequestModel):
    milestone_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    sdg_targets: list[SdgTarget] = Field(default_factory=list, max_length=20)


class PledgeCreate(RequestModel):
    amount: AmountMinor
    kind: Literal["direct", "threshold", "match"]
    threshold_amount: AmountMinor | None = None
    deadline: AwareDatetime | None = None
    match_ratio: Annotated[Decimal, Field(gt=0, le=100, max_digits=10, decimal_places=4)] | None = (
        None
    )
    earmark: Earmark | None = None
    expires_at: AwareDatetime | None = None
    on_expiry: Literal["refund", "rollover"] = "refund"
    rollover_challenge_id: uuid.UUID | None = None
    anonymous: StrictBool = False


class EarmarkOut(ResponseModel):
    milestone_ids: list[uuid.UUID]
    sdg_targets: list[str]


class PledgeOut(ResponseModel):
    id: uuid.UUID
    challenge_id: uuid.UUID
    funder_org_id: uuid.UUID | None = Field(
        description="null on anonymous pledges, except to the funder and the admin"
    )
    kind: Literal["direct", "threshold", "match"]
    amount: int
    currency: str
    status: Literal["held", "active", "exhausted", "released", "expired", "refunded"]
    held: int
    available: int
    allocated: int
    paid: int
    returned: int
    threshold_amount: int | None
    deadline: datetime | None
    match_ratio: Ratio | None
    earmark: EarmarkOut
    expires_at: datetime | None
    on_expiry: Literal["refund", "rollover"]
    rollover_challenge_id: uuid.UUID | None
    rolled_into_pledge_id: uuid.UUID | None
    anonymous: bool
    paid_to: list[PayoutSplitOut] = Field(
        default_factory=list, description="Which organisations this pledge's money paid"
    )
    created_at: datetime
