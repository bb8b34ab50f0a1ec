"""Swarms, bids, verifiers, claims and attestations on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyUrl, Field, StrictInt, StringConstraints

from app.api.schemas.base import AmountMinor, Name, RequestModel, ResponseModel

Plan = Annotated[str, StringConstraints(max_length=20_000)]
Note = Annotated[str, StringConstraints(max_length=5_000)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
MeasuredValue = Annotated[StrictInt, Field(ge=0, lt=10**15)]
Units = Annotated[StrictInt, Field(gt=0, lt=10**15)]


class SwarmMemberIn(RequestModel):
    org_id: uuid.UUID
    share_bps: Annotated[StrictInt, Field(gt=0, le=10_000)]


class SwarmCreate(RequestModel):
    name: Name
    members: list[SwarmMemberIn] = Field(min_length=1, max_length=20)


class SwarmMemberOut(ResponseModel):
    org_id: uuid.UUID
    share_bps: int
    accepted: bool


class SwarmOut(ResponseModel):
    id: uuid.UUID
    name: str
    lead_org_id: uuid.UUID
    status: Literal["forming", "active", "dissolved"]
    members: list[SwarmMemberOut]
    created_at: datetime


class BidCreate(RequestModel):
    swarm_id: uuid.UUID
    amount: AmountMinor
    plan: Plan
    pricing: Literal["lump_sum", "per_unit"] = "lump_sum"
    unit_price: AmountMinor | None = Field(
        default=None, description="per_unit: the price of one verified unit, in minor units."
    )
    max_units: Units | None = Field(
        default=None, description="per_unit: the most units paid for; amount = unit_price x this."
    )


class BidOut(ResponseModel):
    id: uuid.UUID
    milestone_id: uuid.UUID
    swarm_id: uuid.UUID
    amount: int
    plan: str
    status: Literal["submitted", "awarded", "rejected", "withdrawn"]
    created_at: datetime
    pricing: Literal["lump_sum", "per_unit"] = "lump_sum"
    unit_price: int | None = None
    max_units: int | None = None


class VerifiersIn(RequestModel):
    org_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)


class EvidenceIn(RequestModel):
    uri: AnyUrl
    sha256: Sha256 | None = None
    note: Note | None = None


class ClaimCreate(RequestModel):
    reported_value: MeasuredValue
    evidence: list[EvidenceIn] = Field(min_length=1, max_length=50)


class EvidenceOut(ResponseModel):
    uri: str
    sha256: str | None = None
    note: str | None = None


class ClaimAttestationOut(ResponseModel):
    verifier_org_id: uuid.UUID
    verdict: Literal["approve", "reject"]
    value: int | None
    counted: bool = Field(
        description="false for an attestation made after the claim was "
        "decided, or by a verifier no longer assigned"
    )
    created_at: datetime


class ClaimOut(ResponseModel):
    id: uuid.UUID
    milestone_id: uuid.UUID
    status: Literal["submitted", "verified", "rejected"]
    reported_value: int
    evidence: list[EvidenceOut]
    verify_by: datetime | None = Field(
        description="Until when the assigned verifiers may attest the claim"
    )
    attestations: list[ClaimAttestationOut] = Field(default_factory=list)
    created_at: datetime


class AttestationCreate(RequestModel):
    verdict: Literal["approve", "reject"]
    value: MeasuredValue | None = None
    note: Note | None = None


class AttestationOut(ResponseModel):
    id: uuid.UUID
    claim_id: uuid.UUID
    verifier_org_id: uuid.UUID
    verdict: Literal["approve", "reject"]
    value: int | None
    counted: bool
    claim_status: Literal["submitted", "verified", "rejected"]
