"""Disputes of verified claims and their panels' attestations on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from app.api.schemas.base import RequestModel, ResponseModel
from app.api.schemas.delivery import MeasuredValue, Note

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000)]
DisputeStatus = Literal["open", "upheld", "revised", "rejected", "cancelled"]


class DisputeCreate(RequestModel):
    reason: Reason


class PanelIn(RequestModel):
    org_ids: list[uuid.UUID] = Field(min_length=1, max_length=25)


class PanelAttestationCreate(RequestModel):
    verdict: Literal["approve", "reject"]
    value: MeasuredValue | None = None
    note: Note | None = None


class PanelVoteOut(ResponseModel):
    verifier_org_id: uuid.UUID
    verdict: Literal["approve", "reject"]
    value: int | None
    counted: bool = Field(description="false for a member no longer on the panel")
    created_at: datetime


class DisputeOut(ResponseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    milestone_id: uuid.UUID
    opened_by_org_id: uuid.UUID
    reason: str
    status: DisputeStatus
    panel_org_ids: list[uuid.UUID]
    outcome_value: str | None = Field(
        description="The value the panel's approvals paid by (median), once decided so"
    )
    attestations: list[PanelVoteOut] = Field(default_factory=list)
    created_at: datetime
    resolved_at: datetime | None


class PanelAttestationOut(ResponseModel):
    id: uuid.UUID
    dispute_id: uuid.UUID
    verifier_org_id: uuid.UUID
    verdict: Literal["approve", "reject"]
    value: int | None
    dispute_status: DisputeStatus
