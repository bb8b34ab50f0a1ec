"""The assurance bonus: a funder offers one on a challenge; anyone may see what is on offer."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.schemas.assurance import BonusCreate, BonusList, BonusOut
from app.api.writes import run_write
from app.domain.assurance import service as assurance

router = APIRouter(prefix="/v1", tags=["funding mechanisms"])


@router.post(
    "/challenges/{challenge_id}/assurance-bonus",
    status_code=201,
    response_model=BonusOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Offer an assurance bonus (funder): missed threshold pledgers get bonus_bps of "
    "their pledge from it; what remains returns when the challenge ends",
)
async def offer_bonus(
    request: Request, challenge_id: uuid.UUID, body: BonusCreate, caller: CallerDep
) -> Response:
    return await run_write(
        request,
        lambda s: assurance.offer_bonus(
            s, caller, challenge_id, amount=body.amount, bonus_bps=body.bonus_bps
        ),
        BonusOut.model_validate,
        status_code=201,
    )


@router.get(
    "/challenges/{challenge_id}/assurance-bonus",
    response_model=BonusList,
    responses=error_responses(404, 422),
    summary="The challenge's assurance bonuses, oldest first, with what each has left (public)",
)
async def list_bonuses(challenge_id: uuid.UUID, database: DatabaseDep) -> BonusList:
    async with database.read() as session:
        found = await assurance.list_bonuses(session, challenge_id)
    return BonusList(items=[BonusOut.model_validate(b) for b in found])
