"""A value the database refuses is the request's fault: 422, nothing written, nothing leaked.

Validation should stop every such value first (tests/api/test_hostile_inputs.py); this is
the net under it. A probe route writes a row and then has the real database refuse a value
in the same transaction, the way a request with a value that slipped through would.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from app.db import Database
from app.domain.identity.models import Org
from app.main import create_app
from app.settings import Settings
from app.sql.types import UtcDateTime

PROBLEM = "application/problem+json"
YEAR_10000_IN_UTC = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))


def _refusal(kind: str, dialect: str) -> tuple[Any, dict[str, Any]]:
    """A statement and parameters that the real database (or its driver) refuses."""
    if kind == "invalid_text":  # PostgreSQL 22P02; SQLite's "string or blob too big"
        if dialect == "postgresql":
            return text("SELECT CAST('secret-value' AS INTEGER)"), {}
        return text("SELECT zeroblob(2000000000)"), {}
    if kind == "beyond_bigint":  # asyncpg 22000; sqlite3 raises a bare OverflowError
        return text("SELECT CAST(:v AS BIGINT)"), {"v": 2**64}
    if kind == "unstorable_instant":  # the column type cannot bind it in UTC
        return text("SELECT :v").bindparams(bindparam("v", type_=UtcDateTime())), {
            "v": YEAR_10000_IN_UTC
        }
    # A wrong type handed to a column type: our bug, not the caller's.
    return text("SELECT :v").bindparams(bindparam("v", type_=UtcDateTime())), {"v": "secret"}


probe = APIRouter()


@probe.post("/_probe/refused/{kind}")
async def refused(request: Request, kind: str) -> None:
    database: Database = request.app.state.database

    async def work(session: AsyncSession) -> None:
        session.add(Org(id=uuid.uuid4(), name=f"written-{kind}", roles=["funder"]))
        await session.flush()
        statement, parameters = _refusal(kind, database.dialect)
        await session.execute(statement, parameters)

    await database.transaction(work)


@pytest.fixture
async def probe_client(database: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database)
    app.include_router(probe)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _orgs(database: Database) -> int:
    async with database.read() as session:
        return int((await session.execute(text("SELECT count(*) FROM orgs"))).scalar_one())


@pytest.mark.parametrize("kind", ["invalid_text", "beyond_bigint", "unstorable_instant"])
async def test_a_value_the_database_refuses_is_422_and_writes_nothing(
    probe_client: httpx.AsyncClient, database: Database, kind: str
) -> None:
    response = await probe_client.post(f"/_probe/refused/{kind}")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "unstorable_value"
    assert "nothing was changed" in body["detail"]
    for internal in ("SELECT", "secret", "zeroblob", "BIGINT", "9999", "Error"):
        assert internal not in response.text
    assert await _orgs(database) == 0


async def test_a_database_error_that_is_not_about_a_value_stays_a_500(
    probe_client: httpx.AsyncClient, database: Database
) -> None:
    response = await probe_client.post("/_probe/refused/wrong_type")
    assert response.status_code == 500, response.text
    assert response.json()["code"] == "internal_error"
    assert "secret" not in response.text
    assert await _orgs(database) == 0
