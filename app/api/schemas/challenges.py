"""Challenges on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StrictInt, StringConstraints

from app.api.schemas.base import Name, RequestModel, ResponseModel
from app.api.schemas.money import CurrencyCode

Text = Annotated[str, StringConstraints(max_length=10_000)]
SdgTarget = Annotated[str, StringConstraints(pattern=r"^\d{1,2}\.(\d{1,2}|[a-d])$")]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]
ChallengeStatus = Literal["draft", "open", "closed", "completed", "cancelled"]
MAX_DISPUTE_WINDOW_SECONDS = 2_592_000  # 30 days
DisputeWindow = Annotated[
    StrictInt,
    Field(
        ge=0,
        le=MAX_DISPUTE_WINDOW_SECONDS,
        description="How long after its quorum a verified claim waits, disputable, before it "
        "is paid; 0 (the default) pays at quorum.",
    ),
]


class ChallengeCreate(RequestModel):
    title: Name
    description: Text = ""
    currency: CurrencyCode
    sdg_targets: list[SdgTarget] = Field(min_length=1, max_length=20)
    region: Region | None = None
    closes_at: AwareDatetime | None = None
    dispute_window_seconds: DisputeWindow = 0
    host_fee_bps: Annotated[
        StrictInt,
        Field(
            ge=0,
            le=2_000,
            description="Taken for the fiscal host, in basis points, from each pledge's money "
            "as it commits to the pool (a direct pledge, a met threshold, a match draw).",
        ),
    ] = 0
    host_org_id: uuid.UUID | None = Field(
        default=None, description="Whose wallet the host fee goes to; default the steward"
    )


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
    dispute_window_seconds: int
    host_fee_bps: int
    host_org_id: uuid.UUID | None
    created_at: datetime
    totals: TotalsOut
