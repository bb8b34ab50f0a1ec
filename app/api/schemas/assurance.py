"""The assurance bonus on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictInt

from app.api.schemas.base import AmountMinor, RequestModel, ResponseModel
from app.domain.assurance.rules import MAX_BONUS_BPS, MIN_BONUS_BPS

BonusBps = Annotated[
    StrictInt,
    Field(
        ge=MIN_BONUS_BPS,
        le=MAX_BONUS_BPS,
        description="Basis points of a missed threshold pledge paid to its funder, "
        "1 to 10,000 (10,000 = the pledge's whole amount).",
    ),
]


class BonusCreate(RequestModel):
    amount: AmountMinor
    bonus_bps: BonusBps


class BonusOut(ResponseModel):
    id: uuid.UUID
    challenge_id: uuid.UUID
    sponsor_org_id: uuid.UUID
    currency: str
    amount: int
    bonus_bps: int
    remaining: int
    status: Literal["active", "returned"]
    created_at: datetime


class BonusList(ResponseModel):
    items: list[BonusOut]
