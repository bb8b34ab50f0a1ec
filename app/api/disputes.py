"""Disputes of verified claims: opened in the dispute window, decided by a panel."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.presenters.disputes import (
    DisputeView,
    dispute_out,
    dispute_view,
    panel_attestation_out,
)
from app.api.schemas.disputes import (
    DisputeCreate,
    DisputeOut,
    PanelAttestationCreate,
    PanelAttestationOut,
    PanelIn,
)
from app.api.writes import run_write
from app.domain.delivery import disputes

router = APIRouter(prefix="/v1", tags=["disputes"])


@router.post(
    "/claims/{claim_id}/disputes",
    status_code=201,
    response_model=DisputeOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Dispute a verified claim before its milestone pays (a funder with escrow in "
    "it, the steward, an assigned verifier)",
)
async def open_dispute(
    request: Request, claim_id: uuid.UUID, body: DisputeCreate, caller: CallerDep
) -> Response:
    async def work(session: AsyncSession) -> DisputeView:
        dispute = await disputes.open_dispute(session, caller, claim_id, reason=body.reason)
        return await dispute_view(session, dispute)

    return await run_write(request, work, dispute_out, status_code=201)


@router.put(
    "/disputes/{dispute_id}/panel",
    response_model=DisputeOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Appoint the dispute's panel: at least three fresh, unconflicted verifiers "
    "(the steward)",
)
async def set_panel(
    request: Request, dispute_id: uuid.UUID, body: PanelIn, caller: CallerDep
) -> Response:
    async def work(session: AsyncSession) -> DisputeView:
        dispute = await disputes.set_panel(session, caller, dispute_id, body.org_ids)
        return await dispute_view(session, dispute)

    return await run_write(request, work, dispute_out, status_code=200)


@router.post(
    "/disputes/{dispute_id}/attestations",
    status_code=201,
    response_model=PanelAttestationOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="A panel member's verdict, once; a majority of the panel decides the dispute",
)
async def attest_dispute(
    request: Request, dispute_id: uuid.UUID, body: PanelAttestationCreate, caller: CallerDep
) -> Response:
    return await run_write(
        request,
        lambda s: disputes.attest_dispute(
            s, caller, dispute_id, verdict=body.verdict, value=body.value, note=body.note
        ),
        panel_attestation_out,
        status_code=201,
    )


@router.get(
    "/disputes/{dispute_id}",
    response_model=DisputeOut,
    responses=error_responses(401, 404),
    summary="A dispute (whoever may read its claim, its opener and its panel)",
)
async def get_dispute(
    dispute_id: uuid.UUID, caller: CallerDep, database: DatabaseDep
) -> DisputeOut:
    async with database.read() as session:
        dispute = await disputes.get_dispute(session, caller, dispute_id)
        return dispute_out(await dispute_view(session, dispute))
