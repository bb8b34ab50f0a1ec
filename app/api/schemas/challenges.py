"""Challenges on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from app.api.schemas.base import Name, RequestModel, ResponseModel
from app.api.schemas.money import CurrencyCode

Text = Annotated[str, StringConstraints(max_length=10_000)]
SdgTarget = Annotated[str, StringConstraints(pattern=r"^\d{1,2}\.(\d{1,2}|[a-d])$")]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]
ChallengeStatus = Literal["draft", "open", "closed", "completed", "cancelled"]


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
