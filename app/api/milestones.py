"""Milestones: stewards add and re-tender them; anyone may read them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.presenters.challenges import milestone_out
from app.api.schemas.milestones import MilestoneCreate, MilestoneOut, RetenderIn
from app.api.writes import run_write
from app.domain.delivery import milestones, payouts, retender

router = APIRouter(prefix="/v1", tags=["milestones"])


@router.post(
    "/challenges/{challenge_id}/milestones",
    status_code=201,
    response_model=MilestoneOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Add a milestone (the challenge's steward)",
)
async def create_milestone(
    request: Request, challenge_id: uuid.UUID, body: MilestoneCreate, caller: CallerDep
) -> Response:
    fields = body.model_dump()
    fields["sdg_targets"] = tuple(fields["sdg_targets"])
    spec = milestones.MilestoneSpec(**fields)
    return await run_write(
        request,
        lambda s: milestones.create_milestone(s, caller, challenge_id, spec),
        milestone_out,
        status_code=201,
    )


@router.get(
    "/challenges/{challenge_id}/milestones",
    response_model=list[MilestoneOut],
    responses=error_responses(404, 422),
    summary="The challenge's milestones (public)",
)
async def list_milestones(challenge_id: uuid.UUID, database: DatabaseDep) -> list[MilestoneOut]:
    async with database.read() as session:
        found = await milestones.list_milestones(session, challenge_id)
        results = await payouts.results_of(session, [m.id for m in found])
        return [milestone_out(m, *results[m.id]) for m in found]


@router.get(
    "/milestones/{milestone_id}",
    response_model=MilestoneOut,
    responses=error_responses(404, 422),
    summary="One milestone (public)",
)
async def get_milestone(milestone_id: uuid.UUID, database: DatabaseDep) -> MilestoneOut:
    async with database.read() as session:
        milestone = await milestones.get_milestone(session, milestone_id)
        results = await payouts.results_of(session, [milestone.id])
        return milestone_out(milestone, *results[milestone.id])


@router.post(
    "/milestones/{milestone_id}/retender",
    status_code=201,
    response_model=MilestoneOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Re-tender what a failed, not achieved or partly paid milestone left undone "
    "(the challenge's steward)",
)
async def retender_milestone(
    request: Request, milestone_id: uuid.UUID, body: RetenderIn, caller: CallerDep
) -> Response:
    spec = retender.RetenderSpec(
        due_at=body.due_at, target=body.target, budget_cap=body.budget_cap, quorum=body.quorum
    )
    return await run_write(
        request,
        lambda s: retender.retender(s, caller, milestone_id, spec),
        milestone_out,
        status_code=201,
    )
