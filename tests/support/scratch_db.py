"""A PostgreSQL database of a test's own, migrated to head and dropped afterwards, for tests
whose server or worker processes must not share the run's database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from app.db import Database
from app.migrations import upgrade
from app.settings import Settings
from tests.support.postgres import create_database, drop_database


async def migrate(url: str) -> None:
    database = Database.from_settings(Settings(database_url=url))
    try:
        await upgrade(database.engine)
    finally:
        await database.dispose()


@contextmanager
def scratch_database(server_url: str, prefix: str, *, migrated: bool = True) -> Iterator[str]:
    name = f"tributary_{prefix}_{uuid.uuid4().hex[:10]}"
    url = create_database(server_url, name)
    try:
        if migrated:
            asyncio.run(migrate(url))
        yield url
    finally:
        drop_database(server_url, name)
