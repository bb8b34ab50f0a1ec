"""Bids on milestones, awards, and the steward's choice of verifiers."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.presenters.challenges import milestone_out
from app.api.schemas.delivery import BidCreate, BidOut, VerifiersIn
from app.api.schemas.milestones import MilestoneOut
from app.api.writes import run_write
from app.domain.delivery import awards, verifiers

router = APIRouter(prefix="/v1", tags=["bids"])


@router.post(
    "/milestones/{milestone_id}/bids",
    status_code=201,
    response_model=BidOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Bid on an open milestone (the swarm's lead)",
)
async def submit_bid(
    request: Request, milestone_id: uuid.UUID, body: BidCreate, caller: CallerDep
) -> Response:
    return await run_write(
        request,
        lambda s: awards.submit_bid(
            s,
            caller,
            milestone_id,
            swarm_id=body.swarm_id,
            amount=body.amount,
            plan=body.plan,
            pricing=body.pricing,
            unit_price=body.unit_price,
            max_units=body.max_units,
        ),
        BidOut.model_validate,
        status_code=201,
    )


@router.get(
    "/milestones/{milestone_id}/bids",
    response_model=list[BidOut],
    responses=error_responses(401, 404),
    summary="Bids (the steward and admin see all; a swarm's members their own)",
)
async def list_bids(
    milestone_id: uuid.UUID, caller: CallerDep, database: DatabaseDep
) -> list[BidOut]:
    async with database.read() as session:
        return [
            BidOut.model_validate(b) for b in await awards.list_bids(session, caller, milestone_id)
        ]


@router.post(
    "/bids/{bid_id}/award",
    response_model=BidOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Award a bid (the challenge's steward): its amount moves into escrow",
)
async def award_bid(request: Request, bid_id: uuid.UUID, caller: CallerDep) -> Response:
    return await run_write(
        request,
        lambda s: awards.award_bid(s, caller, bid_id),
        BidOut.model_validate,
        status_code=200,
    )


@router.post(
    "/bids/{bid_id}/withdraw",
    response_model=BidOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Withdraw a bid before it is awarded (the swarm's lead)",
)
async def withdraw_bid(request: Request, bid_id: uuid.UUID, caller: CallerDep) -> Response:
    return await run_write(
        request,
        lambda s: awards.withdraw_bid(s, caller, bid_id),
        BidOut.model_validate,
        status_code=200,
    )


@router.put(
    "/milestones/{milestone_id}/verifiers",
    response_model=MilestoneOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Assign the milestone's verifiers (its challenge's steward)",
)
async def assign_verifiers(
    request: Request, milestone_id: uuid.UUID, body: VerifiersIn, caller: CallerDep
) -> Response:
    return await run_write(
        request,
        lambda s: verifiers.assign_verifiers(s, caller, milestone_id, list(body.org_ids)),
        milestone_out,
        status_code=200,
    )
