"""Migrations go up, all the way down, and up again, on both engines."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from app.db import Database
from app.migrations import current_revision, downgrade, head_revision, upgrade
from app.models import all_metadata
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


def _drift(connection: Connection) -> list[object]:
    models = MetaData()
    for metadata in all_metadata():
        for table in metadata.tables.values():
            table.to_metadata(models)
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, models))


async def test_the_migrations_build_exactly_the_schema_the_models_declare(
    migrated_database: Database,
) -> None:
    """Every model change comes with its migration: autogenerate finds nothing to add."""
    async with migrated_database.engine.connect() as connection:
        assert await connection.run_sync(_drift) == []
