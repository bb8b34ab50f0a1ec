"""Money in and out: deposits (admin), withdrawals, balances and statements."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.csv_export import csv_responses, wants_csv
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.exports import statement_csv
from app.api.pagination import Cursor, Limit, decode_int_cursor, encode_cursor
from app.api.schemas.base import Page
from app.api.schemas.money import (
    BalancesOut,
    CurrencyBalanceOut,
    DepositBatchCreate,
    DepositBatchOut,
    DepositCreate,
    DepositOut,
    StatementLineOut,
    WithdrawalCreate,
    WithdrawalOut,
)
from app.api.writes import Presented, run_write
from app.domain.money import service as money
from app.domain.money.deposit_batch import DepositItem, deposit_batch
from app.domain.money.service import DepositResult

router = APIRouter(prefix="/v1", tags=["money"])


def _deposit(result: DepositResult) -> Presented:
    return DepositOut.model_validate(result.deposit), 201 if result.created else 200


@router.post(
    "/orgs/{org_id}/deposits",
    status_code=201,
    response_model=DepositOut,
    responses={
        200: {"description": "A deposit with this external_ref existed; it is returned"},
        **error_responses(401, 403, 404, 409, 422),
    },
    summary="Credit money that arrived from outside (admin); idempotent by external_ref",
)
async def create_deposit(
    request: Request, org_id: uuid.UUID, body: DepositCreate, caller: CallerDep
) -> Response:
    return await run_write(
        request,
        lambda s: money.deposit(
            s,
            caller,
            org_id,
            amount=body.amount,
            currency=body.currency,
            external_ref=body.external_ref,
        ),
        _deposit,
        status_code=201,
    )


def _deposits(results: list[DepositResult]) -> Presented:
    return DepositBatchOut(items=[DepositOut.model_validate(r.deposit) for r in results])


@router.post(
    "/orgs/{org_id}/deposits/batch",
    status_code=201,
    response_model=DepositBatchOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Credit up to 1,000 deposits at once, all or none (admin): a statement import",
    description="One transaction: if any item is refused, nothing is credited and the "
    'problem names the item (`errors[0].loc` is `["body", "items", i]`). An item whose '
    "`external_ref` was used already returns that deposit and moves nothing.",
)
async def create_deposit_batch(
    request: Request, org_id: uuid.UUID, body: DepositBatchCreate, caller: CallerDep
) -> Response:
    items = [DepositItem(i.amount, i.currency, i.external_ref) for i in body.items]
    return await run_write(
        request,
        lambda s: deposit_batch(s, caller, org_id, items),
        _deposits,
        status_code=201,
    )


@router.post(
    "/orgs/{org_id}/withdrawals",
    status_code=201,
    response_model=WithdrawalOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Pay money out of the organisation's wallet (the organisation)",
)
async def create_withdrawal(
    request: Request, org_id: uuid.UUID, body: WithdrawalCreate, caller: CallerDep
) -> Response:
    return await run_write(
        request,
        lambda s: money.withdraw(s, caller, org_id, amount=body.amount, currency=body.currency),
        WithdrawalOut.model_validate,
        status_code=201,
    )


@router.get(
    "/orgs/{org_id}/balances",
    response_model=BalancesOut,
    responses=error_responses(401, 404),
    summary="Available and held money per currency (admin, the organisation)",
)
async def get_balances(org_id: uuid.UUID, caller: CallerDep, database: DatabaseDep) -> BalancesOut:
    async with database.read() as session:
        rows = await money.balances(session, caller, org_id)
    return BalancesOut(balances=[CurrencyBalanceOut.model_validate(row) for row in rows])


@router.get(
    "/orgs/{org_id}/statement",
    response_model=Page[StatementLineOut],
    responses={**error_responses(401, 404, 422), **csv_responses()},
    summary="Posted movements of the wallet with the balance after each (admin, the org)",
    description="With `Accept: text/csv`: every movement from `cursor` on as CSV (one header "
    "row, amounts in minor units and formatted), streamed; `limit` then sets nothing.",
)
async def get_statement(
    request: Request,
    org_id: uuid.UUID,
    caller: CallerDep,
    database: DatabaseDep,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[StatementLineOut] | Response:
    after = decode_int_cursor(cursor)
    if wants_csv(request):
        return await statement_csv(database, caller, org_id, currency, after)
    async with database.read() as session:
        lines = await money.statement(
            session, caller, org_id, currency=currency, after_posting_id=after, limit=limit + 1
        )
    more = len(lines) > limit
    lines = lines[:limit]
    items = [
        StatementLineOut(
            entry_id=line.entry_id,
            kind=line.kind,
            amount=line.amount,
            balance_after=line.balance_after,
            created_at=line.created_at,
            memo=line.meta.get("memo") if isinstance(line.meta.get("memo"), str) else None,
        )
        for line in lines
    ]
    next_cursor = encode_cursor(str(lines[-1].posting_id)) if more else None
    return Page[StatementLineOut](items=items, next_cursor=next_cursor)
