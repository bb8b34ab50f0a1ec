"""Liveness, readiness and metrics for load balancers and monitoring."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from starlette.responses import Response

from app.api.deps import DatabaseDep
from app.api.metrics import metrics_endpoint
from app.api.problems import problem_response
from app.migrations import current_revision, head_revision

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    schema_revision: str | None


@router.get("/healthz", response_model=Health, summary="Liveness: the process runs")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: the database answers and its schema is at the latest migration",
    responses={503: {"description": "Not ready", "content": {"application/problem+json": {}}}},
)
async def readyz(database: DatabaseDep) -> Readiness | Response:
    expected = head_revision()
    try:
        async with database.read() as session:
            await session.execute(text("SELECT 1"))
        actual = await current_revision(database.engine)
    except Exception as error:  # any failure to reach the database means "not ready"
        log.warning("readiness check failed: %s", type(error).__name__)
        return problem_response(
            status=503, code="database_unavailable", detail="The database does not answer."
        )
    if actual != expected:
        return problem_response(
            status=503,
            code="schema_not_current",
            detail=f"The database schema is at {actual}, this code needs {expected}; "
            "run `tributary migrate`.",
        )
    return Readiness(status="ready", schema_revision=actual)


router.add_api_route(
    "/metrics",
    metrics_endpoint,
    methods=["GET"],
    summary="Prometheus metrics",
    response_class=Response,
    include_in_schema=True,
)
