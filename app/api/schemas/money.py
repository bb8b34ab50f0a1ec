"""Deposits, withdrawals, balances and statements on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from app.api.schemas.base import AmountMinor, RequestModel, ResponseModel
from app.domain.batches import MAX_DEPOSITS

CurrencyCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{3}$"), Field(description="ISO 4217 code, e.g. USD.")
]
ExternalRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class DepositCreate(RequestModel):
    amount: AmountMinor
    currency: CurrencyCode
    external_ref: ExternalRef


class DepositOut(ResponseModel):
    id: uuid.UUID
    org_id: uuid.UUID
    amount: int
    currency: str
    external_ref: str
    entry_id: uuid.UUID
    created_at: datetime


class DepositBatchCreate(RequestModel):
    items: list[DepositCreate] = Field(
        min_length=1,
        max_length=MAX_DEPOSITS,
        description=f"1 to {MAX_DEPOSITS:,} deposits, credited together or not at all.",
    )


class DepositBatchOut(ResponseModel):
    items: list[DepositOut] = Field(description="One deposit per item, in request order.")


class WithdrawalCreate(RequestModel):
    amount: AmountMinor
    currency: CurrencyCode


class WithdrawalOut(ResponseModel):
    id: uuid.UUID
    org_id: uuid.UUID
    amount: int
    currency: str
    entry_id: uuid.UUID
    created_at: datetime


class CurrencyBalanceOut(ResponseModel):
    currency: str
    available: int
    held: int


class BalancesOut(ResponseModel):
    balances: list[CurrencyBalanceOut]


class StatementLineOut(ResponseModel):
    entry_id: uuid.UUID
    kind: str
    amount: int
    balance_after: int
    created_at: datetime
    memo: str | None


class LedgerViolationOut(ResponseModel):
    check: str
    row: list[Any]


class LedgerVerifyOut(ResponseModel):
    ok: bool
    entries_checked: int
    violations: list[LedgerViolationOut]
