"""Pledges: funders commit money to challenges on their own terms."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.csv_export import csv_responses, wants_csv
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.exports import pledges_csv
from app.api.pagination import Cursor, Limit, decode_position, encode_position
from app.api.presenters.pledges import PledgeView, new_views, pledge_out, view, views
from app.api.schemas.base import Page
from app.api.schemas.pledges import PledgeBatchCreate, PledgeBatchOut, PledgeCreate, PledgeOut
from app.api.writes import run_write
from app.domain.pledges import service as pledges
from app.domain.pledges.batch import create_pledge_batch as create_pledges

router = APIRouter(prefix="/v1", tags=["pledges"])


@router.post(
    "/challenges/{challenge_id}/pledges",
    status_code=201,
    response_model=PledgeOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Pledge to an open challenge (funder): direct, threshold or match",
)
async def create_pledge(
    request: Request, challenge_id: uuid.UUID, body: PledgeCreate, caller: CallerDep
) -> Response:
    spec = _spec(body)

    async def work(session: AsyncSession) -> PledgeView:
        pledge = await pledges.create_pledge(session, caller, challenge_id, spec)
        return (await new_views(session, caller, [pledge]))[0]

    return await run_write(request, work, pledge_out, status_code=201)


def _spec(body: PledgeCreate) -> pledges.PledgeSpec:
    earmark = body.earmark
    return pledges.PledgeSpec(
        amount=body.amount,
        kind=body.kind,
        threshold_amount=body.threshold_amount,
        deadline=body.deadline,
        match_ratio=body.match_ratio,
        earmark_milestone_ids=list(earmark.milestone_ids) if earmark else [],
        earmark_sdg_targets=list(earmark.sdg_targets) if earmark else [],
        expires_at=body.expires_at,
        on_expiry=body.on_expiry,
        on_completion=body.on_completion,
        rollover_challenge_id=body.rollover_challenge_id,
        anonymous=body.anonymous,
    )


@router.post(
    "/pledges/batch",
    status_code=201,
    response_model=PledgeBatchOut,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Make up to 100 pledges across challenges at once, all or none (funder)",
    description="One transaction: if any item is refused, no pledge is made and the "
    'problem names the item (`errors[0].loc` is `["body", "items", i]`). Items are '
    "pledged in request order, each as a single pledge would be.",
)
async def create_pledge_batch(
    request: Request, body: PledgeBatchCreate, caller: CallerDep
) -> Response:
    items = [(item.challenge_id, _spec(item)) for item in body.items]

    async def work(session: AsyncSession) -> list[PledgeView]:
        made = await create_pledges(session, caller, items)
        return await new_views(session, caller, made)

    return await run_write(
        request,
        work,
        lambda made: PledgeBatchOut(items=[pledge_out(item) for item in made]),
        status_code=201,
    )


@router.get("/pledges/batch", include_in_schema=False)
async def batch_is_not_a_pledge() -> None:
    """`GET /v1/pledges/batch` would otherwise read a pledge called "batch" (422): the batch
    is its own resource, which only takes POST."""
    raise HTTPException(status_code=405)


@router.get(
    "/pledges/{pledge_id}",
    response_model=PledgeOut,
    responses=error_responses(401, 404),
    summary="A pledge (the funder, the challenge's steward, admin)",
)
async def get_pledge(pledge_id: uuid.UUID, caller: CallerDep, database: DatabaseDep) -> PledgeOut:
    async with database.read() as session:
        pledge = await pledges.get_pledge(session, caller, pledge_id)
        return pledge_out(await view(session, caller, pledge))


@router.post(
    "/pledges/{pledge_id}/cancel",
    response_model=PledgeOut,
    responses=error_responses(401, 403, 404, 409),
    summary="Cancel a held pledge (the funder); the hold is released",
)
async def cancel_pledge(request: Request, pledge_id: uuid.UUID, caller: CallerDep) -> Response:
    async def work(session: AsyncSession) -> PledgeView:
        pledge = await pledges.cancel_pledge(session, caller, pledge_id)
        return await view(session, caller, pledge)

    return await run_write(request, work, pledge_out, status_code=200)


@router.get(
    "/orgs/{org_id}/pledges",
    response_model=Page[PledgeOut],
    responses={**error_responses(401, 404, 422), **csv_responses()},
    summary="An organisation's pledges, oldest first (admin, the organisation)",
    description="With `Accept: text/csv`: every pledge from `cursor` on as CSV (one header "
    "row, amounts in minor units and formatted), streamed; `limit` then sets nothing.",
)
async def list_org_pledges(
    request: Request,
    org_id: uuid.UUID,
    caller: CallerDep,
    database: DatabaseDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[PledgeOut] | Response:
    after = decode_position(cursor)
    if wants_csv(request):
        return await pledges_csv(database, caller, org_id, after)
    async with database.read() as session:
        found = await pledges.list_org_pledges(
            session, caller, org_id, after=after, limit=limit + 1
        )
        items = [pledge_out(item) for item in await views(session, caller, found[:limit])]
    last = found[limit - 1] if len(found) > limit else None
    next_cursor = encode_position(last.created_at, last.id) if last else None
    return Page[PledgeOut](items=items, next_cursor=next_cursor)
