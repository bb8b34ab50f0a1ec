"""A scratch PostgreSQL database per race test, with an in-process app on it, for tests that
race due-work processes (tests/support/due_race.py starts them) against each other."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.db import Database
from app.ledger.accounts import forget_all_accounts
from app.main import create_app
from tests.conftest import _settings
from tests.support.scratch_db import scratch_database


@pytest.fixture
def race_url(postgres_server_url: str) -> Iterator[str]:
    with scratch_database(postgres_server_url, "race") as url:
        yield url


@pytest.fixture
async def race_db(race_url: str) -> AsyncIterator[Database]:
    forget_all_accounts()
    database = Database.from_settings(_settings(race_url))
    yield database
    await database.dispose()


@pytest.fixture
async def race_client(race_db: Database, race_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(_settings(race_url), race_db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
