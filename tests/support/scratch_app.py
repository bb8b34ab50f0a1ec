"""The app on a PostgreSQL database of a test's own, with an in-process HTTP client, for
tests that also reach the database (or other databases of the cluster) from outside."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from app.db import Database
from app.ledger.accounts import forget_all_accounts
from app.main import create_app
from tests.conftest import _settings
from tests.support.scratch_db import migrate, scratch_database


@dataclass
class ScratchApp:
    client: httpx.AsyncClient
    database: Database
    url: str


@asynccontextmanager
async def scratch_app(server_url: str, prefix: str) -> AsyncIterator[ScratchApp]:
    with scratch_database(server_url, prefix, migrated=False) as url:
        await migrate(url)
        forget_all_accounts()
        database = Database.from_settings(_settings(url))
        try:
            app = create_app(_settings(url), database)
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield ScratchApp(http, database, url)
        finally:
            await database.dispose()
            forget_all_accounts()
