"""How every state-changing route runs its unit of work and builds its response.

The work runs in one transaction that commits before the response is built, so a client
never sees success for a write that did not commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.db import Database

T = TypeVar("T")


def json_response(model: BaseModel | None, status_code: int) -> Response:
    if model is None:
        return Response(status_code=status_code)
    return JSONResponse(model.model_dump(mode="json"), status_code=status_code)


async def run_write(
    request: Request,
    work: Callable[[AsyncSession], Awaitable[T]],
    present: Callable[[T], BaseModel | None],
    *,
    status_code: int,
) -> Response:
    """Run `work` in a committed transaction and present its result as JSON."""
    database: Database = request.app.state.database
    result: Any = await database.transaction(work)
    return json_response(present(result), status_code)
