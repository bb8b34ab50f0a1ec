"""Migrations go up, all the way down, and up again, on both engines."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.ledger import MAX_BALANCE, AccountFlags, BalanceLimitExceeded, Ledger
from app.ledger.accounts import forget_all_accounts
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


async def _credit_past_the_limit(database: Database) -> bool:
    """Whether a credit taking a limited account one past MAX_BALANCE is accepted."""
    owner = uuid.uuid4().hex

    async def work(session: AsyncSession) -> None:
        ledger = Ledger(session)
        world = await ledger.open_account(code="world", currency="USD", owner_ref=owner)
        wallet = await ledger.open_account(
            code="wallet",
            currency="USD",
            owner_ref=owner,
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        )
        for amount in (MAX_BALANCE, 1):
            await ledger.transfer(
                entry_id=uuid.uuid4(),
                debit_account_id=world.id,
                credit_account_id=wallet.id,
                amount=amount,
                kind="deposit",
            )
        raise _RolledBack  # nothing of the probe stays behind

    try:
        await database.transaction(work)
    except BalanceLimitExceeded:
        return False
    except _RolledBack:
        return True
    raise AssertionError("the probe neither failed nor rolled back")


class _RolledBack(Exception):
    pass


async def test_0010_puts_the_balance_limit_into_postgresqls_fast_path_and_takes_it_out(
    postgres_server_url: str,
) -> None:
    """Upgrade re-creates ledger_write_entry with the limit; downgrade restores 0003's text
    (which knows no limit), and upgrading again brings the limit back."""
    name = "tributary_migrations_limit"
    drop_database(postgres_server_url, name)
    url = create_database(postgres_server_url, name)
    database = Database.from_settings(Settings(database_url=url))
    try:
        await upgrade(database.engine)
        assert not await _credit_past_the_limit(database)
        await downgrade(database.engine, "0009_challenge_life")
        assert await _credit_past_the_limit(database)
        await upgrade(database.engine)
        assert not await _credit_past_the_limit(database)
    finally:
        forget_all_accounts()
        await database.dispose()
        drop_database(postgres_server_url, name)
