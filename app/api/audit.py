"""The audit trail: every state-changing request, queryable by the admin.

One record per POST/PUT/PATCH/DELETE under /v1, built by `audit_row`. A request that ran a
unit of work writes it inside that transaction, with its events (api/writes.py, through the
commit bundle), and says so with `mark_audited`; any other (refused before it reached its
work: no key, an invalid body, ...) is recorded by the edge middleware through
`record_request`, when its status is known and before the response leaves.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.types import Scope

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.pagination import Cursor, Limit, decode_int_cursor, encode_cursor
from app.api.schemas.base import Page
from app.api.schemas.identity import AuditRecordOut
from app.db import Database
from app.domain import commit_bundle
from app.domain.commit_bundle import AuditRow
from app.domain.identity import service as identity
from app.domain.identity.caller import Caller
from app.logs import request_id_var

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


_AUDITED = "audited"


def _actor(caller: Caller | None) -> tuple[str, uuid.UUID | None, uuid.UUID | None]:
    if caller is None:
        return "anonymous", None, None
    return ("admin" if caller.is_admin else "key"), caller.org_id, caller.key_id


def audit_row(request: Request, status: int, request_id: str | None = None) -> AuditRow:
    """The audit record of this request, ending with `status`."""
    actor, org_id, key_id = _actor(getattr(request.state, "caller", None))
    return AuditRow(
        actor=actor,
        org_id=org_id,
        key_id=key_id,
        method=request.method,
        # The client's path, percent-decoded: a NUL, which PostgreSQL refuses in text,
        # goes back to the %00 it was sent as, so the record is never lost.
        path=request.url.path.replace("\x00", "%00")[:2048],
        status=status,
        request_id=request_id or request_id_var.get() or "",
    )


def mark_audited(request: Request) -> None:
    """The request's record was written with its work: the middleware writes none."""
    setattr(request.state, _AUDITED, True)


async def record_request(scope: Scope, status: int, request_id: str) -> None:
    """Write the audit record of a state-changing /v1 request; never fails the request."""
    if scope["method"] not in AUDITED_METHODS or not scope["path"].startswith("/v1/"):
        return
    app = scope.get("app")
    database: Database | None = getattr(getattr(app, "state", None), "database", None)
    if database is None:
        return
    state = scope.get("state", {})
    if state.get(_AUDITED):  # recorded in the request's own transaction (api/writes.py)
        return
    row = audit_row(Request(scope), status, request_id)

    async def write(session: AsyncSession) -> None:
        commit_bundle.attach_audit(session, row)  # written by the bundle, as every record is

    try:
        await database.transaction(write)
    except Exception:
        log.exception("could not write the audit record of %s %s", scope["method"], scope["path"])
