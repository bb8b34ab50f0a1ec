"""Claims of delivered outcomes and the verifiers' attestations."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.presenters.delivery import ClaimView, attestation_out, claim_out, claim_view
from app.api.schemas.delivery import AttestationCreate, AttestationOut, ClaimCreate, ClaimOut
from app.api.writes import run_write
from app.domain.delivery import claims

router = APIRouter(prefix="/v1", tags=["claims"])


@router.post(
    "/milestones/{milestone_id}/claims",
    status_code=201,
    response_model=ClaimOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Claim the milestone's outcome with evidence (the awarded swarm's lead)",
)
async def submit_claim(
    request: Request, milestone_id: uuid.UUID, body: ClaimCreate, caller: CallerDep
) -> Response:
    evidence = [e.model_dump(mode="json", exclude_none=True) for e in body.evidence]

    async def work(session: AsyncSession) -> ClaimView:
        claim = await claims.submit_claim(
            session, caller, milestone_id, reported_value=body.reported_value, evidence=evidence
        )
        return await claim_view(session, claim)

    return await run_write(request, work, claim_out, status_code=201)


@router.get(
    "/claims/{claim_id}",
    response_model=ClaimOut,
    responses=error_responses(401, 404),
    summary="A claim (steward, the swarm's members, the assigned verifiers, admin)",
)
async def get_claim(claim_id: uuid.UUID, caller: CallerDep, database: DatabaseDep) -> ClaimOut:
    async with database.read() as session:
        return claim_out(
            await claim_view(session, await claims.get_claim(session, caller, claim_id))
        )


@router.post(
    "/claims/{claim_id}/attestations",
    status_code=201,
    response_model=AttestationOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Attest a claim (an assigned verifier, once); at quorum the claim is paid",
)
async def attest(
    request: Request, claim_id: uuid.UUID, body: AttestationCreate, caller: CallerDep
) -> Response:
    return await run_write(
        request,
        lambda s: claims.attest(
            s, caller, claim_id, verdict=body.verdict, value=body.value, note=body.note
        ),
        attestation_out,
        status_code=201,
    )
