"""How every state-changing route runs its unit of work and builds its response.

The work runs in one transaction that commits before the response is built, so a client
never sees success for a write that did not commit. With an `Idempotency-Key` header the
response is stored in that same transaction and replayed for a retry of the same request by
the same caller (see app/domain/idempotency/service.py for the protocol).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.errors import domain_problem
from app.db import Database
from app.domain.errors import DomainError
from app.domain.idempotency import service as idempotency
from app.domain.identity import service as identity
from app.domain.identity.caller import Caller
from app.logs import request_id_var
from app.sql.types import utcnow

T = TypeVar("T")
IDEMPOTENCY_HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Domain errors that describe the moment rather than the request: retrying the same key
# later must run the request again instead of replaying them.
TRANSIENT_CODES = frozenset({"idempotency_key_in_use", "rate_limited"})

Presented = BaseModel | None | tuple[BaseModel | None, int]


def json_response(model: BaseModel | None, status_code: int) -> Response:
    if model is None:
        return Response(status_code=status_code)
    return JSONResponse(model.model_dump(mode="json"), status_code=status_code)


def _split(presented: Presented, default_status: int) -> tuple[BaseModel | None, int]:
    if isinstance(presented, tuple):
        return presented
    return presented, default_status


async def _fingerprint(request: Request) -> str:
    """Method, path, query and the body (JSON re-serialised canonically, else raw bytes)."""
    raw = await request.body()
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        body = raw
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), request.url.query.encode()):
        digest.update(part + b"\x00")
    digest.update(body)
    return digest.hexdigest()


def _scope(caller: Caller) -> str:
    return "admin" if caller.is_admin else f"org:{caller.org_id}"


def _replay(status: int, body: str | None) -> Response:
    headers = {REPLAYED_HEADER: "true"}
    if not body:
        return Response(status_code=status, headers=headers)
    media_type = "application/problem+json" if status >= 400 else "application/json"
    return Response(body, status_code=status, media_type=media_type, headers=headers)


async def run_write(
    request: Request,
    work: Callable[[AsyncSession], Awaitable[T]],
    present: Callable[[T], Presented],
    *,
    status_code: int,
) -> Response:
    """Run `work` in a committed transaction and present its result as JSON.

    `present` returns the response model, or (model, status) when the status depends on the
    result (e.g. 200 for a deposit that already existed).
    """
    database: Database = request.app.state.database
    key = request.headers.get(IDEMPOTENCY_HEADER)
    # Keys belong to a caller; an anonymous request cannot own one (and cannot change
    # anything either: the policies refuse it), so it simply runs.
    if key is None or getattr(request.state, "caller", None) is None:

        async def unit(session: AsyncSession) -> Response:
            response = json_response(*_split(present(await work(session)), status_code))
            await _audit(session, request, response.status_code)
            return response

        response = await database.transaction(unit)
        request.state.audited = True
        return response
    return await _run_idempotent(request, database, key, work, present, status_code)


async def _audit(session: AsyncSession, request: Request, status: int) -> None:
    """The audit record, in the same transaction as the change it describes."""
    await identity.record_audit(
        session,
        getattr(request.state, "caller", None),
        method=request.method,
        path=request.url.path,
        status=status,
        request_id=request_id_var.get() or "",
    )


async def _run_idempotent(
    request: Request,
    database: Database,
    key: str,
    work: Callable[[AsyncSession], Awaitable[T]],
    present: Callable[[T], Presented],
    status_code: int,
) -> Response:
    idempotency.validate_key(key)
    scope = _scope(request.state.caller)
    fingerprint = await _fingerprint(request)
    lease = timedelta(seconds=request.app.state.settings.idempotency_lease_seconds)
    claim = await database.transaction(
        lambda s: idempotency.claim(
            s, scope=scope, key=key, fingerprint=fingerprint, now=utcnow(), lease=lease
        )
    )
    if claim.outcome is idempotency.Outcome.REPLAY:
        assert claim.status is not None
        return _replay(claim.status, claim.body)
    token = claim.token
    assert token is not None

    async def unit(session: AsyncSession) -> Response:
        await idempotency.lock(session, scope=scope, key=key, token=token)
        model, status = _split(present(await work(session)), status_code)
        response = json_response(model, status)
        body = bytes(response.body).decode() if model is not None else ""
        await idempotency.complete(
            session, scope=scope, key=key, token=token, status=status, body=body
        )
        await _audit(session, request, status)
        return response

    try:
        response = await database.transaction(unit)
        request.state.audited = True
        return response
    except DomainError as error:
        if error.code in TRANSIENT_CODES:
            await database.transaction(
                lambda s: idempotency.release(s, scope=scope, key=key, token=token)
            )
            raise
        problem = domain_problem(error)
        await database.transaction(
            lambda s: _store_problem(s, scope, key, token, problem.status_code, problem)
        )
        return problem
    except BaseException:
        await database.transaction(
            lambda s: idempotency.release(s, scope=scope, key=key, token=token)
        )
        raise


async def _store_problem(
    session: AsyncSession, scope: str, key: str, token: Any, status: int, problem: Response
) -> None:
    await idempotency.lock(session, scope=scope, key=key, token=token)
    await idempotency.complete(
        session, scope=scope, key=key, token=token, status=status, body=bytes(problem.body).decode()
    )
