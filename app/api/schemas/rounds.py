"""Matching rounds on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, Strict

from app.api.schemas.base import AmountMinor, Name, RequestModel, ResponseModel
from app.api.schemas.money import CurrencyCode

MAX_ROUND_CHALLENGES = 100
FloorBps = Annotated[
    int,
    Strict(),
    Field(ge=0, le=10_000, description="Share of the pool split equally as a floor, in bps."),
]


class RoundCreate(RequestModel):
    name: Name
    currency: CurrencyCode
    matching_pool: AmountMinor
    challenge_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_ROUND_CHALLENGES)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    floor_bps: FloorBps = 0


class RoundChallengeOut(ResponseModel):
    challenge_id: uuid.UUID
    title: str
    contributors: int = Field(description="Organisations that contributed in the window.")
    contributed: int
    projected_match: int = Field(
        description="Its match if the round closed now (the match itself once closed)."
    )
    matched: int | None = Field(description="Null while open; what it was matched at close.")
    pledge_id: uuid.UUID | None = Field(description="The sponsor's pledge made at close.")


class RoundOut(ResponseModel):
    id: uuid.UUID
    name: str
    status: Literal["open", "closed"]
    currency: str
    sponsor_org_id: uuid.UUID
    matching_pool: int
    floor_bps: int
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    closed_at: datetime | None
    projected_return: int = Field(
        description="What would go (or went) back to the sponsor: shares no open challenge "
        "can take, or the whole pool when no challenge drew a contribution."
    )
    challenges: list[RoundChallengeOut]
