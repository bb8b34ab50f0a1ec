"""Pledges on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from app.api.schemas.base import AmountMinor, RequestModel, ResponseModel
from app.api.schemas.challenges import SdgTarget
from app.api.schemas.milestones import PayoutSplitOut
from app.domain.batches import MAX_PLEDGES
from app.domain.pledges.ratio import (
    FORMS,
    MAX_MATCH_RATIO,
    MAX_RATIO_TEXT,
    RATIO_PATTERN,
    RatioError,
    parse_match_ratio,
)

Ratio = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
Remainder = Literal["refund", "rollover"]


def _match_ratio(value: object) -> Decimal:
    try:
        return parse_match_ratio(value)
    except RatioError as error:
        raise PydanticCustomError("invalid_ratio", str(error)) from None


MatchRatioIn = Annotated[
    Decimal,
    PlainValidator(_match_ratio),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": float(MAX_MATCH_RATIO)},
                {"type": "string", "pattern": RATIO_PATTERN, "maxLength": MAX_RATIO_TEXT},
            ],
            "description": f"Money matched per unit contributed: {FORMS}. Above 0, at most "
            f"{MAX_MATCH_RATIO}, at most 4 decimal places (stored exactly, as basis points; "
            "basis points themselves are not a ratio).",
            "examples": [1.0, "0.5", "1:2"],
        }
    ),
]


class Earmark(RequestModel):
    milestone_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    sdg_targets: list[SdgTarget] = Field(default_factory=list, max_length=20)


class PledgeCreate(RequestModel):
    amount: AmountMinor
    kind: Literal["direct", "threshold", "match"]
    threshold_amount: AmountMinor | None = None
    deadline: AwareDatetime | None = None
    match_ratio: MatchRatioIn | None = None
    earmark: Earmark | None = None
    expires_at: AwareDatetime | None = None
    on_expiry: Remainder = "refund"
    on_completion: Remainder = Field(
        default="refund",
        description="Where the remainder goes when the challenge completes: back to the "
        "wallet, or into a new direct pledge on rollover_challenge_id.",
    )
    rollover_challenge_id: uuid.UUID | None = None
    anonymous: StrictBool = False


class PledgeBatchItem(PledgeCreate):
    challenge_id: uuid.UUID


class PledgeBatchCreate(RequestModel):
    items: list[PledgeBatchItem] = Field(
        min_length=1,
        max_length=MAX_PLEDGES,
        description=f"1 to {MAX_PLEDGES} pledges, on any open challenges, made together or "
        "not at all, in this order.",
    )


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
    fees: int = Field(
        default=0,
        description="Taken from this pledge in fees: the challenge's host fee as its money "
        "committed, and verifier fees it paid",
    )
    threshold_amount: int | None
    deadline: datetime | None
    match_ratio: Ratio | None
    earmark: EarmarkOut
    expires_at: datetime | None
    on_expiry: Remainder
    on_completion: Remainder
    rollover_challenge_id: uuid.UUID | None
    rolled_into_pledge_id: uuid.UUID | None
    anonymous: bool
    paid_to: list[PayoutSplitOut] = Field(
        default_factory=list, description="Which organisations this pledge's money paid"
    )
    created_at: datetime


class PledgeBatchOut(ResponseModel):
    items: list[PledgeOut] = Field(description="One pledge per item, in request order.")
