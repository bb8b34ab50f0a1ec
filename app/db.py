"""The database engine, sessions and the unit-of-work runner shared by every request.

One `Database` per process (per app): it owns the async engine and session factory. Writes go
through `Database.transaction`, which commits before returning and retries transient
conflicts; reads use `Database.read`, a short read-only session, and checks that must see
one consistent moment use `Database.snapshot`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from app import models
from app.domain import commit_bundle as bundle
from app.settings import Settings
from app.sql.transactions import WRITE_OPTION, run_in_transaction

# Every entry point that opens a database (the app, the command line, workers, tests) goes
# through this module, so importing every table here gives them all one complete metadata.
TABLES = models.all_metadata()

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
    """Make SQLite behave like a server database for our purposes.

    WAL lets readers run beside the single writer; foreign keys are off by default in SQLite;
    the driver's own transaction handling is disabled so that we emit BEGIN ourselves, and a
    writing unit of work takes the write lock at BEGIN (IMMEDIATE) instead of deadlocking on
    a lock upgrade later.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the async engine for the configured URL with bounded pools and timeouts."""
    if settings.is_sqlite:
        engine = create_async_engine(settings.database_url, connect_args={"timeout": 30})
        _install_sqlite_pragmas(engine)
        return engine
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # No pre-ping: it costs a round trip per transaction. A connection found dead is
        # invalidated by SQLAlchemy and the unit of work retried (app/sql/transactions.py).
        pool_recycle=1800,
        connect_args={
            "server_settings": {
                "application_name": "tributary",
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "idle_in_transaction_session_timeout": str(settings.db_statement_timeout_ms),
            }
        },
    )


class Database:
    """Engine, session factory and transaction runner for one process."""

    def __init__(self, engine: AsyncEngine, *, max_attempts: int = 8) -> None:
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self.max_attempts = max_attempts

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(create_engine(settings), max_attempts=settings.transaction_max_attempts)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run one writing unit of work; committed when this returns."""
        return await run_in_transaction(
            self.sessionmaker, work, max_attempts=self.max_attempts, before_commit=bundle.flush
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; closing it ends (rolls back) its transaction and keeps the
        loaded objects usable, detached, for building the response."""
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read-only session that sees the database as of one moment (REPEATABLE READ on
        PostgreSQL; SQLite's read transactions are snapshots already), for checks whose
        several queries must agree with each other while other processes write."""
        async with self.sessionmaker() as session:
            if self.dialect == "postgresql":
                await session.connection(
                    execution_options={
                        "isolation_level": "REPEATABLE READ",
                        "postgresql_readonly": True,
                    }
                )
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
