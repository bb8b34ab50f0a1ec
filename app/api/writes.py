"""How every state-changing route runs its unit of work and builds its response.

One transaction per request, authentication included (app/api/auth.py resolves API keys
from a short-lived cache). The work runs, its response is built, and then, last in the same
transaction and in one statement on PostgreSQL, its events, its audit record and (with an
`Idempotency-Key`) the key with that response are written (app/domain/commit_bundle.py).
The transaction commits before the response is returned, so a client never sees success
for a write that did not commit.

With an `Idempotency-Key`: a key already stored for this caller replays its answer (or is
422 `idempotency_key_reused` for another request) before any work; a request racing another
with the same key does its work, then waits on the key's unique index and, once the other
committed, rolls back and replays the other's answer. A refusal (a domain error) is stored
too, in a transaction of its own, so its retry is refused the same way. Nothing is held
while a request runs, so a retry after a crash runs at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.audit import audit_row, mark_audited
from app.api.errors import domain_problem
from app.db import Database
from app.domain import commit_bundle
from app.domain.errors import DomainError
from app.domain.idempotency import service as idempotency
from app.domain.identity.caller import Caller
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


@dataclass(frozen=True)
class Ticket:
    """The idempotency key of one request: whose, which, and what request it names."""

    scope: str
    key: str
    fingerprint: str


class Replay(Exception):
    """The key answers already: leave the transaction (nothing was done) and replay."""

    def __init__(self, status: int, body: str | None) -> None:
        super().__init__(status)
        self.status, self.body = status, body


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


async def _check_stored(session: AsyncSession, ticket: Ticket) -> None:
    row = await idempotency.stored(session, scope=ticket.scope, key=ticket.key, now=utcnow())
    if row is None:
        return
    if row.fingerprint != ticket.fingerprint:
        raise idempotency.reused(ticket.key)
    raise Replay(row.response_status or 200, row.response_body)


def _keep(session: AsyncSession, ticket: Ticket | None, response: Response) -> None:
    if ticket is None:
        return
    body = bytes(response.body).decode() if response.body else ""
    commit_bundle.attach_key(
        session,
        commit_bundle.KeyRow(
            scope=ticket.scope,
            key=ticket.key,
            fingerprint=ticket.fingerprint,
            status=response.status_code,
            body=body,
            expires_at=utcnow() + idempotency.KEY_TTL,
        ),
    )


async def run_write(
    request: Request,
    work: Callable[[AsyncSession], Awaitable[T]],
    present: Callable[[T], Presented],
    *,
    status_code: int,
) -> Response:
    """Run `work` in one committed transaction and present its result as JSON.

    `present` returns the response model, or (model, status) when the status depends on the
    result (e.g. 200 for a deposit that already existed).
    """
    database: Database = request.app.state.database
    ticket = await _ticket(request)

    async def unit(session: AsyncSession) -> Response:
        if ticket is not None:
            await _check_stored(session, ticket)
        response = json_response(*_split(present(await work(session)), status_code))
        commit_bundle.attach_audit(session, audit_row(request, response.status_code))
        _keep(session, ticket, response)
        return response

    try:
        response = await database.transaction(unit)
    except Replay as replay:
        return _replay(replay.status, replay.body)
    except commit_bundle.KeyTaken:
        return await _replay_stored(database, ticket)
    except DomainError as error:
        if ticket is None or error.code in TRANSIENT_CODES:
            raise
        return await _store_refusal(request, database, ticket, domain_problem(error))
    mark_audited(request)
    return response


async def _ticket(request: Request) -> Ticket | None:
    """The request's idempotency key: only an authenticated caller can own one (and an
    anonymous request cannot change anything: the policies refuse it)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    caller: Caller | None = getattr(request.state, "caller", None)
    if key is None or caller is None:
        return None
    idempotency.validate_key(key)
    return Ticket(_scope(caller), key, await _fingerprint(request))


async def _replay_stored(database: Database, ticket: Ticket | None) -> Response:
    """Another request committed the key first: answer as it did (or 422 if it was a
    different request under the same key)."""
    assert ticket is not None
    try:
        await database.transaction(lambda session: _check_stored(session, ticket))
    except Replay as replay:
        return _replay(replay.status, replay.body)
    raise AssertionError("a taken idempotency key must be stored")


async def _store_refusal(
    request: Request, database: Database, ticket: Ticket, problem: Response
) -> Response:
    """Keep the refusal as the key's answer, so a retry is refused the same way (unless
    another request committed the key meanwhile: then answer as it did)."""

    async def unit(session: AsyncSession) -> Response:
        await _check_stored(session, ticket)
        commit_bundle.attach_audit(session, audit_row(request, problem.status_code))
        _keep(session, ticket, problem)
        return problem

    try:
        stored = await database.transaction(unit)
    except Replay as replay:
        return _replay(replay.status, replay.body)
    except commit_bundle.KeyTaken:
        return await _replay_stored(database, ticket)
    mark_audited(request)
    return stored
