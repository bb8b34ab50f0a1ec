"""Migrations go up, all the way down, and up again, on both engines."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from app.db import Database
from app.migrations import current_revision, downgrade, head_revision, upgrade
from app.settings import Settings
from tests.support.postgres import create_database, drop_database


async def _tables(database: Database) -> set[str]:
    async with database.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def _round_trip(database: Database) -> None:
    await upgrade(database.engine)
    assert await current_revision(database.engine) == head_revision()
    at_head = await _tables(database)
    await downgrade(database.engine, "base")
    assert await current_revision(database.engine) is None
    assert await _tables(database) <= {"alembic_version"}
    await upgrade(database.engine)
    assert await current_revision(database.engine) == head_revision()
    assert await _tables(database) == at_head


async def test_upgrade_downgrade_upgrade_on_sqlite(tmp_path: Path) -> None:
    database = Database.from_settings(Settings(database_url=f"sqlite:///{tmp_path}/m.db"))
    try:
        await _round_trip(database)
    finally:
        await database.dispose()


async def test_upgrade_downgrade_upgrade_on_postgresql(postgres_server_url: str) -> None:
    name = "tributary_migrations_roundtrip"
    drop_database(postgres_server_url, name)
    url = create_database(postgres_server_url, name)
    database = Database.from_settings(Settings(database_url=url))
    try:
        await _round_trip(database)
    finally:
        await database.dispose()
        drop_database(postgres_server_url, name)
