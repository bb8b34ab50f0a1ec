"""Public benchmarks: what a verified unit of outcome cost, per SDG target and unit."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.etag import json_with_etag
from app.api.schemas.benchmarks import BenchmarkOut, BenchmarksOut
from app.domain.benchmarks import service as benchmarks

router = APIRouter(prefix="/v1/public", tags=["public"])

Sdg = Annotated[
    str | None,
    Query(
        pattern=r"^\d{1,2}(\.(\d{1,2}|[a-d]))?$",
        description="An SDG target (6.1) or goal (6).",
    ),
]
# No NUL: PostgreSQL cannot compare text holding one (a 422 naming the parameter instead).
Unit = Annotated[
    str | None,
    Query(min_length=1, max_length=50, pattern=r"^[^\x00]+$", description="A milestone unit."),
]


@router.get(
    "/benchmarks",
    response_model=BenchmarksOut,
    responses=error_responses(422),
    summary="Median, p25 and p75 cost per verified unit of paid milestones, per SDG target "
    "and unit (public)",
)
async def read_benchmarks(
    request: Request, database: DatabaseDep, sdg: Sdg = None, unit: Unit = None
) -> Response:
    async with database.read() as session:
        found = await benchmarks.benchmarks(session, sdg=sdg, unit=unit)
    out = BenchmarksOut(items=[BenchmarkOut(**asdict(item)) for item in found])
    return json_with_etag(request, out)
