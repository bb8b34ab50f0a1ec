"""Organisations and their API keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.schemas.identity import ApiKeyCreate, ApiKeyIssued, ApiKeyOut, OrgCreate, OrgOut
from app.api.writes import run_write
from app.domain.identity import service as identity
from app.domain.identity.service import IssuedKey

router = APIRouter(prefix="/v1", tags=["organisations"])


def _key_issued(issued: IssuedKey) -> ApiKeyIssued:
    return ApiKeyIssued(
        id=issued.key.id,
        secret=issued.secret,
        prefix=issued.key.prefix,
        label=issued.key.label,
        created_at=issued.key.created_at,
    )


@router.post(
    "/orgs",
    status_code=201,
    response_model=OrgOut,
    responses=error_responses(401, 403, 409, 422),
    summary="Create an organisation (admin)",
)
async def create_org(request: Request, body: OrgCreate, caller: CallerDep) -> Response:
    return await run_write(
        request,
        lambda s: identity.create_org(
            s, caller, name=body.name, roles=body.roles, public_name=body.public_name
        ),
        OrgOut.model_validate,
        status_code=201,
    )


@router.get(
    "/orgs/{org_id}",
    response_model=OrgOut,
    responses=error_responses(401, 404),
    summary="Read an organisation (admin, the organisation)",
)
async def get_org(org_id: uuid.UUID, caller: CallerDep, database: DatabaseDep) -> OrgOut:
    async with database.read() as session:
        return OrgOut.model_validate(await identity.get_org(session, caller, org_id))


@router.get(
    "/me",
    response_model=OrgOut,
    responses=error_responses(401, 403),
    summary="The organisation of the calling API key",
)
async def get_me(caller: CallerDep, database: DatabaseDep) -> OrgOut:
    async with database.read() as session:
        return OrgOut.model_validate(await identity.get_me(session, caller))


@router.post(
    "/orgs/{org_id}/api-keys",
    status_code=201,
    response_model=ApiKeyIssued,
    responses=error_responses(401, 404, 409, 422),
    summary="Issue an API key; its secret is shown only in this response",
)
async def issue_api_key(
    request: Request, org_id: uuid.UUID, caller: CallerDep, body: ApiKeyCreate | None = None
) -> Response:
    label = body.label if body else None
    return await run_write(
        request,
        lambda s: identity.issue_api_key(s, caller, org_id, label=label),
        _key_issued,
        status_code=201,
    )


@router.get(
    "/orgs/{org_id}/api-keys",
    response_model=list[ApiKeyOut],
    responses=error_responses(401, 404),
    summary="List an organisation's API keys (never their secrets)",
)
async def list_api_keys(
    org_id: uuid.UUID, caller: CallerDep, database: DatabaseDep
) -> list[ApiKeyOut]:
    async with database.read() as session:
        keys = await identity.list_api_keys(session, caller, org_id)
    return [ApiKeyOut.model_validate(key) for key in keys]


@router.delete(
    "/api-keys/{key_id}",
    status_code=204,
    responses=error_responses(401, 404),
    summary="Revoke an API key; it fails with 401 from the next request on",
)
async def revoke_api_key(request: Request, key_id: uuid.UUID, caller: CallerDep) -> Response:
    response = await run_write(
        request,
        lambda s: identity.revoke_api_key(s, caller, key_id),
        lambda _: None,
        status_code=204,
    )
    request.app.state.key_cache.forget_key(key_id)  # at once here; elsewhere within a second
    return response
