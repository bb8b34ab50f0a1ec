"""The audit trail: every state-changing request, queryable by the admin.

Records are written by the edge middleware when the response status is known, before the
response leaves, through `record_request`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.types import Scope

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.pagination import Cursor, Limit, decode_int_cursor, encode_cursor
from app.api.schemas.base import Page
from app.api.schemas.identity import AuditRecordOut
from app.db import Database
from app.domain.identity import service as identity

router = APIRouter(prefix="/v1", tags=["audit"])
log = logging.getLogger(__name__)

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@router.get(
    "/audit",
    response_model=Page[AuditRecordOut],
    responses=error_responses(401, 403, 422),
    summary="State-changing requests, oldest first (admin)",
)
async def list_audit(
    caller: CallerDep,
    database: DatabaseDep,
    org_id: Annotated[uuid.UUID | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AuditRecordOut]:
    async with database.read() as session:
        records = await identity.list_audit(
            session, caller, org_id=org_id, after_id=decode_int_cursor(cursor), limit=limit + 1
        )
    items = [AuditRecordOut.model_validate(record) for record in records[:limit]]
    next_cursor = encode_cursor(str(items[-1].id)) if len(records) > limit else None
    return Page[AuditRecordOut](items=items, next_cursor=next_cursor)


async def record_request(scope: Scope, status: int, request_id: str) -> None:
    """Write the audit record of a state-changing /v1 request; never fails the request."""
    if scope["method"] not in AUDITED_METHODS or not scope["path"].startswith("/v1/"):
        return
    app = scope.get("app")
    database: Database | None = getattr(getattr(app, "state", None), "database", None)
    if database is None:
        return
    state = scope.get("state", {})
    if state.get("audited"):  # recorded in the request's own transaction (api/writes.py)
        return
    caller = state.get("caller")
    try:
        await database.transaction(
            lambda session: identity.record_audit(
                session,
                caller,
                method=scope["method"],
                path=scope["path"],
                status=status,
                request_id=request_id,
            )
        )
    except Exception:
        log.exception("could not write the audit record of %s %s", scope["method"], scope["path"])
