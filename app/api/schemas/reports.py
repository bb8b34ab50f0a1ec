"""Responses of the reports: the impact report and impact certificates (API.md, "Reports and
certificates")."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from app.api.schemas.base import ResponseModel


class ImpactItemOut(ResponseModel):
    challenge_id: uuid.UUID
    milestone_id: uuid.UUID
    metric: str
    unit: str
    currency: str
    paid: int = Field(description="Minor units this funder's pledges paid for the milestone.")
    units: str = Field(
        description="Verified units attributable to this funder: verified value x paid / "
        "payout, computed exactly and rounded once to 2 decimal places, half to even."
    )
    units_exact: str = Field(description='The exact fraction of units ("90" or "100/3").')
    cost_per_unit: int | None = Field(
        description="paid / exact units in minor units, rounded once, half to even."
    )
    verified_value: str
    payout_amount: int = Field(description="The milestone's whole payout, every funder's.")


class ImpactUnitTotalOut(ResponseModel):
    unit: str
    paid: int
    units: str
    cost_per_unit: int | None


class ImpactTotalsOut(ResponseModel):
    currency: str | None
    paid: int
    by_unit: list[ImpactUnitTotalOut]


class ImpactOut(ResponseModel):
    items: list[ImpactItemOut]
    totals: ImpactTotalsOut


class CertifiedEntryOut(ResponseModel):
    entry_id: uuid.UUID
    leaf: str = Field(description="The entry's sealed leaf: the exact bytes hashed")
    leaf_index: int
    audit_path: list[str]
    meta: dict[str, Any] = Field(
        description="The entry's meta; SHA-256 of its canonical JSON is the leaf's meta_sha256"
    )
    funder_postings: list[int] = Field(
        description="Indices of the leaf's postings that are this funder's escrow debits"
    )


class CertificateTreeHeadOut(ResponseModel):
    tree_size: int
    root_hash: str
    timestamp: str
    signature: str


class CertificateOut(ResponseModel):
    funder_org_id: uuid.UUID
    challenge_id: uuid.UUID
    milestone_id: uuid.UUID
    metric: str
    unit: str
    currency: str
    units: str = Field(description="verified_value x amount_paid / payout_amount, rounded once")
    units_exact: str
    amount_paid: int
    verified_value: str
    payout_amount: int
    rounding: str
    entries: list[CertifiedEntryOut]
    tree_head: CertificateTreeHeadOut
