"""Challenges and milestones: stewards create and run them; anyone may read them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.pagination import Cursor, Limit, decode_position, encode_position
from app.api.presenters.challenges import ChallengeWithTotals, challenge_out
from app.api.schemas.base import Page
from app.api.schemas.challenges import ChallengeCreate, ChallengeOut, ChallengeStatus
from app.api.writes import run_write
from app.domain.challenges import service as challenges
from app.domain.challenges import transitions
from app.domain.store.challenges import Challenge

router = APIRouter(prefix="/v1", tags=["challenges"])


async def _with_totals(session: AsyncSession, challenge: Challenge) -> ChallengeWithTotals:
    return challenge, await challenges.totals(session, challenge)


@router.post(
    "/challenges",
    status_code=201,
    response_model=ChallengeOut,
    responses=error_responses(401, 403, 422),
    summary="Create a challenge (steward); it starts as a draft",
)
async def create_challenge(request: Request, body: ChallengeCreate, caller: CallerDep) -> Response:
    spec = challenges.ChallengeSpec(
        title=body.title,
        description=body.description,
        currency=body.currency,
        sdg_targets=body.sdg_targets,
        region=body.region,
        closes_at=body.closes_at,
        dispute_window_seconds=body.dispute_window_seconds,
        host_fee_bps=body.host_fee_bps,
        host_org_id=body.host_org_id,
    )

    async def work(session: AsyncSession) -> ChallengeWithTotals:
        return await _with_totals(session, await challenges.create_challenge(session, caller, spec))

    return await run_write(request, work, challenge_out, status_code=201)


def _transition_route(action: str, summary: str) -> None:
    async def endpoint(request: Request, challenge_id: uuid.UUID, caller: CallerDep) -> Response:
        async def work(session: AsyncSession) -> ChallengeWithTotals:
            challenge = await transitions.transition(session, caller, challenge_id, action)
            return await _with_totals(session, challenge)

        return await run_write(request, work, challenge_out, status_code=200)

    router.add_api_route(
        f"/challenges/{{challenge_id}}/{action}",
        endpoint,
        methods=["POST"],
        response_model=ChallengeOut,
        responses=error_responses(401, 403, 404, 409),
        summary=summary,
        name=f"{action}_challenge",
    )


_transition_route("open", "Open a draft challenge to pledges (its steward, admin)")
_transition_route("close", "Close a challenge; held money is released (its steward, admin)")
_transition_route(
    "complete",
    "Complete a challenge; every pledge's remainder is settled by its on_completion "
    "(its steward, admin)",
)
_transition_route(
    "cancel", "Cancel a challenge; every unspent cent returns to its funders (its steward, admin)"
)


@router.get(
    "/challenges",
    response_model=Page[ChallengeOut],
    responses=error_responses(422),
    summary="Challenges, newest first (public)",
)
async def list_challenges(
    database: DatabaseDep,
    status: ChallengeStatus | None = None,
    sdg: Annotated[str | None, Query(pattern=r"^\d{1,2}(\.(\d{1,2}|[a-d]))?$")] = None,
    region: Annotated[str | None, Query(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            pattern=r"^[^\x00]+$",
            description="Words that must all appear in the title or description",
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ChallengeOut]:
    async with database.read() as session:
        found = await challenges.list_challenges(
            session,
            status=status,
            sdg=sdg,
            region=region,
            text=q,
            after=decode_position(cursor),
            limit=limit + 1,
        )
        page = found[:limit]
        totals = await challenges.totals_of(session, [c.id for c in page])
        items = [challenge_out((c, totals[c.id])) for c in page]
    last = found[limit - 1] if len(found) > limit else None
    next_cursor = encode_position(last.created_at, last.id) if last else None
    return Page[ChallengeOut](items=items, next_cursor=next_cursor)


@router.get(
    "/challenges/{challenge_id}",
    response_model=ChallengeOut,
    responses=error_responses(404),
    summary="One challenge with its totals from the ledger (public)",
)
async def get_challenge(challenge_id: uuid.UUID, database: DatabaseDep) -> ChallengeOut:
    async with database.read() as session:
        challenge = await challenges.get_challenge(session, challenge_id)
        return challenge_out(await _with_totals(session, challenge))
