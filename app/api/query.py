"""Unknown query parameters are refused (422), as unknown body fields are.

A misspelt filter (`?satus=open`) or one the endpoint does not have (`?q=` where there is no
search) would otherwise be silently ignored and the client would read an unfiltered answer
as if it were filtered. Every route's declared query parameters are known to FastAPI; this
dependency, installed once on the app, compares the request against them.
"""

from __future__ import annotations

from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request

from app.api.auth import resolve_caller

MAX_LISTED = 10


def _declared(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _declared(sub)
    return names


def _needs_credentials(dependant: Dependant) -> bool:
    """Whether the route takes the caller (app/api/auth.py), i.e. needs a key."""
    return dependant.call is resolve_caller or any(
        _needs_credentials(sub) for sub in dependant.dependencies
    )


async def refuse_unknown_query(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    if _needs_credentials(route.dependant) and "authorization" not in request.headers:
        return  # a missing key is a 401 before anything else about the request
    unknown = sorted(set(request.query_params) - _declared(route.dependant))
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": "Unknown query parameter",
                    "input": request.query_params.get(name),
                }
                for name in unknown[:MAX_LISTED]
            ]
        )
