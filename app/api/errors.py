"""The single place that turns exceptions into problem+json responses.

Framework errors (unknown path, wrong method, invalid body) and the typed errors of the
domain and ledger are all mapped here, so no route has to know how an error looks on the
wire and no domain code ever raises an HTTP exception.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.api.problems import problem_response
from app.domain.errors import (
    BalanceLimitReached,
    Conflict,
    DomainError,
    Forbidden,
    InvalidState,
    ItemRefused,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unprocessable,
)
from app.ledger import BalanceLimitExceeded, NotSealed
from app.sql.transactions import CommitOutcomeUnknown, sqlstate_of

log = logging.getLogger(__name__)

# Most specific class first; the first match wins.
DOMAIN_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (InvalidState, 409),
    (Conflict, 409),
    (Unprocessable, 422),
    (RateLimited, 429),
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


def _loc(raw: Any) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in raw]


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": _loc(item.get("loc", ())), "msg": str(item.get("msg", ""))}
        for item in error.errors()
    ]


def _path_methods(app: Any) -> list[tuple[re.Pattern[str], int, set[str]]]:
    """Each documented path as a regex, with its number of parameters and the methods it
    serves (built once per app)."""
    cached = getattr(app.state, "path_methods", None)
    if cached is None:
        cached = [
            (
                re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"),
                path.count("{"),
                {method.upper() for method in operations},
            )
            for path, operations in app.openapi().get("paths", {}).items()
        ]
        app.state.path_methods = cached
    return cached


def _allowed_methods(request: Request, fallback: str) -> str:
    """Every method the most specific documented paths serve here (Starlette names only the
    first route's): `/v1/pledges/batch` is its own resource, not a pledge called "batch"."""
    matches = [
        (parameters, served)
        for pattern, parameters, served in _path_methods(request.app)
        if pattern.match(request.url.path)
    ]
    fewest = min((parameters for parameters, _ in matches), default=0)
    methods = set().union(*(served for parameters, served in matches if parameters == fewest))
    return ", ".join(sorted(methods)) if methods else fallback


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404 and exc.detail == "Not Found":
        detail = f"There is no resource at {request.url.path}."
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
        fallback = (exc.headers or {}).get("Allow", "")
        headers = {**(exc.headers or {}), "Allow": _allowed_methods(request, fallback)}
        return problem_response(status=405, code=_HTTP_CODES[405], detail=detail, headers=headers)
    else:
        detail = str(exc.detail)
    return problem_response(
        status=status,
        code=_HTTP_CODES.get(status, "http_error"),
        detail=detail,
        headers=exc.headers,
    )


async def handle_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    if any(item.get("type") == "json_invalid" for item in exc.errors()):
        return problem_response(
            status=400,
            code="malformed_json",
            detail="The request body is not valid JSON.",
            errors=errors,
        )
    return problem_response(
        status=422,
        code="validation_error",
        detail="The request is not valid; see errors for each field.",
        errors=errors,
    )


def domain_status(error: DomainError) -> int:
    for kind, status in DOMAIN_STATUS:
        if isinstance(error, kind):
            return status
    return 400


def domain_headers(error: DomainError) -> dict[str, str] | None:
    if isinstance(error, Unauthenticated):
        return {"WWW-Authenticate": "Bearer"}
    if error.retry_after_seconds is not None:
        return {"Retry-After": str(error.retry_after_seconds)}
    return None


def domain_problem(error: DomainError) -> Response:
    """The problem response of a domain error (also stored for idempotent replays). A
    refused batch item answers as its own error would, located at its index in `errors`."""
    if isinstance(error, ItemRefused):
        return problem_response(
            status=domain_status(error.error),
            code=error.code,
            detail=error.detail,
            errors=[{"loc": ["body", "items", error.index], "msg": error.error.detail}],
            headers=domain_headers(error),
            extensions=error.extensions,
        )
    return problem_response(
        status=domain_status(error),
        code=error.code,
        detail=error.detail,
        headers=domain_headers(error),
        extensions=error.extensions,
    )


async def handle_domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return domain_problem(exc)


async def handle_balance_limit(_request: Request, exc: Exception) -> Response:
    """A credit the ledger refused for its balance limit, from any use case that credits an
    account (a refund, a payout, a rollover). The caller may not be the account's owner, so
    the answer names the limit and the credit, never the account or what it holds; the use
    cases that can say more (a deposit) raise their own BalanceLimitReached first."""
    assert isinstance(exc, BalanceLimitExceeded)
    return domain_problem(
        BalanceLimitReached(
            f"This would credit {exc.requested:,} minor units to an account that may hold at "
            f"most {exc.limit:,}, and it holds too much for that; nothing was changed.",
            limit=exc.limit,
            requested=exc.requested,
        )
    )


async def handle_not_sealed(_request: Request, exc: Exception) -> Response:
    """Not in the public log (yet): sealing runs shortly after commit."""
    return problem_response(status=404, code="not_sealed", detail=str(exc))


async def handle_integrity_error(_request: Request, _exc: Exception) -> Response:
    """A unique constraint lost a race with a concurrent request: the client may retry."""
    return problem_response(
        status=409,
        code="conflict",
        detail="A concurrent request changed the same data; retry the request.",
    )


def is_unstorable_value(error: BaseException) -> bool:
    """True when the database (or its driver) refused a value rather than failed: SQLSTATE
    class 22 on PostgreSQL (string too long, numeric out of range, invalid text, NUL),
    sqlite3's DataError, a value a column type could not bind, or an integer beyond 64 bits
    (which sqlite3 raises as a bare OverflowError)."""
    if isinstance(error, OverflowError | DataError):
        return True
    if isinstance(error, DBAPIError):
        return (sqlstate_of(error) or "").startswith("22")
    if isinstance(error, StatementError):
        return isinstance(error.orig, ValueError | OverflowError)
    return False


async def handle_unstorable_value(request: Request, exc: Exception) -> Response:
    """A value that validation let through and the database refused: the request is at
    fault, nothing was committed, and the answer says no more than that (the driver's
    message can quote the SQL and the values). Anything else is left to the edge's 500."""
    if not is_unstorable_value(exc):
        raise exc
    log.warning(
        "the database refused a value of %s %s", request.method, request.url.path, exc_info=exc
    )
    return problem_response(
        status=422,
        code="unstorable_value",
        detail="A value in the request cannot be stored (too long, out of range or not valid "
        "text); nothing was changed.",
    )


async def handle_database_unavailable(_request: Request, exc: Exception) -> Response:
    """The database is saturated (no pooled connection freed in time) or unreachable after
    the unit of work's retries: nothing was committed, and the client may retry shortly."""
    busy = isinstance(exc, SQLAlchemyTimeoutError)
    return problem_response(
        status=503,
        code="service_busy" if busy else "database_unavailable",
        detail="The service is at capacity; retry shortly."
        if busy
        else "The database is unreachable right now; nothing was changed; retry shortly.",
        headers={"Retry-After": "1"},
    )


async def handle_outcome_unknown(_request: Request, _exc: Exception) -> Response:
    """The connection died while COMMIT was in flight: say so, and how to find out."""
    return problem_response(
        status=503,
        code="outcome_unknown",
        detail="The database connection failed while committing: the change may or may not "
        "have been made. Retry with the same Idempotency-Key to learn which (without one, "
        "check before repeating the request).",
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register every mapping on the app."""
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(NotSealed, handle_not_sealed)
    app.add_exception_handler(BalanceLimitExceeded, handle_balance_limit)
    app.add_exception_handler(IntegrityError, handle_integrity_error)
    app.add_exception_handler(StatementError, handle_unstorable_value)
    app.add_exception_handler(OverflowError, handle_unstorable_value)
    app.add_exception_handler(CommitOutcomeUnknown, handle_outcome_unknown)
    app.add_exception_handler(SQLAlchemyTimeoutError, handle_database_unavailable)
    app.add_exception_handler(OperationalError, handle_database_unavailable)
    app.add_exception_handler(InterfaceError, handle_database_unavailable)
    app.add_exception_handler(ConnectionError, handle_database_unavailable)
