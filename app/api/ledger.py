"""The ledger's health for the platform admin."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.schemas.money import LedgerVerifyOut
from app.domain import ledger_audit

router = APIRouter(prefix="/v1", tags=["ledger"])


@router.get(
    "/ledger/verify",
    response_model=LedgerVerifyOut,
    responses=error_responses(401, 403),
    summary="Check every invariant of the ledger now (admin)",
)
async def verify_ledger(caller: CallerDep, database: DatabaseDep) -> LedgerVerifyOut:
    async with database.snapshot() as session:
        report = await ledger_audit.verify(session, caller)
    return LedgerVerifyOut.model_validate(report, from_attributes=True)
