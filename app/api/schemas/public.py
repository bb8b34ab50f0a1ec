"""Shapes of the public reads: funding flows, platform stats, and the sealed ledger log."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from app.api.schemas.base import ResponseModel


class FlowNode(ResponseModel):
    id: str = Field(
        description="`funder:<org>`, `challenge:<id>`, `milestone:<id>`, `actor:<org>`; "
        "`anonymous` for every anonymous pledge; `other_funders` for funders beyond max_funders"
    )
    kind: Literal["funder", "challenge", "milestone", "actor", "verifier", "host"]
    label: str
    ref: str | None = Field(description="The organisation's, challenge's or milestone's id")


class FlowLink(ResponseModel):
    source: str
    target: str
    amount: int = Field(description="Minor units, exact, from the ledger-reconciled rollup")


class FlowsOut(ResponseModel):
    currency: str
    nodes: list[FlowNode]
    links: list[FlowLink]


class CurrencyStatsOut(ResponseModel):
    currency: str
    pledged: int = Field(description="Moved from funders' wallets into pledges")
    paid: int = Field(description="Paid to actors for verified outcomes")
    returned: int = Field(description="Given back to funders' wallets")
    allocated: int = Field(description="In escrow for awarded milestones now")
    available: int = Field(description="In pledges, not yet allocated")
    fees: int = Field(description="Paid in fees: to verifiers that attested")
    challenges: int = Field(description="Challenges past draft")
    funders: int = Field(description="Organisations whose pledges moved money")
    actors: int = Field(description="Organisations paid for outcomes")


class StatsOut(ResponseModel):
    totals: list[CurrencyStatsOut]


class TreeHeadOut(ResponseModel):
    tree_size: int
    root_hash: str
    timestamp: str
    signature: str = Field(description='base64 Ed25519 over "{tree_size}.{root_hash}.{timestamp}"')


class LogKeyOut(ResponseModel):
    algorithm: Literal["ed25519"]
    public_key: str = Field(description="base64 of the 32-byte Ed25519 public key")


class InclusionProofOut(ResponseModel):
    entry_id: uuid.UUID
    leaf_index: int
    tree_size: int
    leaf: str = Field(description="The entry's canonical JSON: the exact bytes hashed")
    leaf_hash: str
    audit_path: list[str]


class ConsistencyProofOut(ResponseModel):
    first: int
    second: int
    proof: list[str]
