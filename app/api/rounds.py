"""Matching rounds: a sponsor's pool divided among challenges by quadratic funding."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.presenters.rounds import round_out
from app.api.schemas.rounds import RoundCreate, RoundOut
from app.api.writes import run_write
from app.domain.rounds import closing, service
from app.domain.rounds.projection import RoundView

router = APIRouter(prefix="/v1", tags=["rounds"])


@router.post(
    "/rounds",
    status_code=201,
    response_model=RoundOut,
    responses=error_responses(401, 403, 409, 422),
    summary="Start a matching round (funder, the sponsor); its pool leaves the wallet",
    description="Direct pledges to a listed challenge between `starts_at` and `ends_at` are "
    "its contributions, one contributor per organisation. At `ends_at` (or when the sponsor "
    "closes it) the pool is divided by quadratic funding with a floor, and each share "
    "becomes a direct pledge of the sponsor. 409 `insufficient_funds` if the wallet is short.",
)
async def create_round(request: Request, body: RoundCreate, caller: CallerDep) -> Response:
    spec = service.RoundSpec(
        name=body.name,
        currency=body.currency,
        matching_pool=body.matching_pool,
        challenge_ids=list(body.challenge_ids),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        floor_bps=body.floor_bps,
    )

    async def work(session: AsyncSession) -> RoundView:
        return await service.create_round(session, caller, spec)

    return await run_write(request, work, round_out, status_code=201)


@router.get(
    "/rounds/{round_id}",
    response_model=RoundOut,
    responses=error_responses(404, 422),
    summary="A matching round and each challenge's projected match, live while open (public)",
)
async def get_round(round_id: uuid.UUID, database: DatabaseDep) -> RoundOut:
    async with database.read() as session:
        return round_out(await service.get_round(session, round_id))


@router.post(
    "/rounds/{round_id}/close",
    response_model=RoundOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Close the round now and divide its pool (the sponsor)",
)
async def close_round(request: Request, round_id: uuid.UUID, caller: CallerDep) -> Response:
    async def work(session: AsyncSession) -> RoundView:
        return await closing.close_round(session, caller, round_id)

    return await run_write(request, work, round_out, status_code=200)
