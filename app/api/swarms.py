"""Swarms: actors form coalitions with agreed shares; every member accepts."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.presenters.delivery import SwarmView, swarm_out, swarm_view
from app.api.schemas.delivery import SwarmCreate, SwarmOut
from app.api.writes import run_write
from app.domain.delivery import swarms

router = APIRouter(prefix="/v1", tags=["swarms"])


@router.post(
    "/swarms",
    status_code=201,
    response_model=SwarmOut,
    responses=error_responses(401, 403, 422),
    summary="Form a swarm (actor, who must be a member and becomes its lead)",
)
async def create_swarm(request: Request, body: SwarmCreate, caller: CallerDep) -> Response:
    members = [(m.org_id, m.share_bps) for m in body.members]

    async def work(session: AsyncSession) -> SwarmView:
        swarm = await swarms.create_swarm(session, caller, name=body.name, members=members)
        return await swarm_view(session, swarm)

    return await run_write(request, work, swarm_out, status_code=201)


@router.post(
    "/swarms/{swarm_id}/accept",
    response_model=SwarmOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Accept the swarm and its shares (a member); active once all have",
)
async def accept_swarm(request: Request, swarm_id: uuid.UUID, caller: CallerDep) -> Response:
    async def work(session: AsyncSession) -> SwarmView:
        return await swarm_view(session, await swarms.accept(session, caller, swarm_id))

    return await run_write(request, work, swarm_out, status_code=200)


@router.get(
    "/swarms/{swarm_id}",
    response_model=SwarmOut,
    responses=error_responses(404),
    summary="A swarm and its members (public)",
)
async def get_swarm(swarm_id: uuid.UUID, database: DatabaseDep) -> SwarmOut:
    async with database.read() as session:
        return swarm_out(await swarm_view(session, await swarms.get_swarm(session, swarm_id)))
