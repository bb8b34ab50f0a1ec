"""Shared fixtures: a fresh database per backend and per run, an app and an HTTP client.

Every test that asks for `database` (directly or through `client`) runs twice: once on a
fresh PostgreSQL database created for this run (and dropped after it), once on an embedded
SQLite file. Between tests the data is wiped so each test starts from an empty, migrated
schema, and after every test that touched the database the ledger's invariants are checked,
and that the funding-flow rollup equals what the journal implies.

The suite runs in parallel (pytest-xdist, `addopts` in pyproject.toml): each worker is its
own pytest session, so it creates its own databases, named after the worker, and when no
PostgreSQL answers at TEST_DATABASE_URL it starts its own throwaway cluster. The end-to-end
groups (several processes, a browser, generated traffic) are marked `slow` here, by folder,
and each of their modules stays on one worker with its module-wide servers and browser.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from app.domain.ledger_audit import verify_all
from app.ledger.accounts import forget_all_accounts
from app.main import create_app
from app.migrations import upgrade
from app.settings import Settings
from tests.support.postgres import create_database, drop_database, postgres_server
from tests.support.signing import SIGNING_KEY

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
BACKENDS = ["postgresql", "sqlite"]
# Folders of end-to-end groups: real servers in other processes, browsers, chaos, schemathesis.
SLOW_FOLDERS = ("chaos", "concurrency", "contract", "e2e")
# Modules outside them whose module-wide fixture (a Redis server, a scratch database) is
# worth making once: all their tests go to one worker.
ONE_WORKER_MODULES = ("tests/api/test_rate_limit.py", "tests/integration/test_sealing_required.py")


def worker_name() -> str:
    """This pytest-xdist worker ("gw0", "gw1", ...), or "main" when the run is not parallel."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the end-to-end groups slow (`pytest -m "not slow"` is the quick loop) and keep
    each of their modules on one worker (`--dist loadgroup`)."""
    root = Path(str(config.rootpath))
    for item in items:
        module = Path(str(item.path)).relative_to(root).as_posix()
        parts = module.split("/")
        if len(parts) > 2 and parts[1] in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group(module))
        elif module in ONE_WORKER_MODULES:
            item.add_marker(pytest.mark.xdist_group(module))


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "due_work_interval_seconds": 0,  # tests run due work themselves, deterministically
        "ledger_signing_key": SIGNING_KEY,
        "webhook_allow_private": True,  # test receivers listen on 127.0.0.1
        "webhook_retry_scale": 0,  # retries are due at once; tests drive delivery rounds
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database created for this run on the given backend (not yet migrated)."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "tributary.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    server = request.getfixturevalue("postgres_server_url")
    name = f"tributary_test_{worker_name()}_{uuid.uuid4().hex[:12]}"
    url = create_database(server, name)
    try:
        yield url.replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        drop_database(server, name)


@pytest.fixture(scope="session")
async def migrated_database(database_url: str) -> AsyncIterator[Database]:
    """The run's database at the latest migration, with a pristine copy for SQLite resets."""
    database = Database.from_settings(_settings(database_url))
    await upgrade(database.engine)
    if database.dialect == "sqlite":
        await database.engine.dispose()
        path = Path(database_url.split("///", 1)[1])
        shutil.copyfile(path, path.with_suffix(".pristine"))
    yield database
    await database.dispose()


async def _reset(database: Database, database_url: str) -> None:
    forget_all_accounts()
    if database.dialect == "sqlite":
        await database.engine.dispose()
        path = Path(database_url.split("///", 1)[1])
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(path.with_suffix(".pristine"), path)
        return
    async with database.engine.begin() as conn:
        tables = (
            await conn.execute(
                text(
                    "SELECT string_agg(format('%I', tablename), ', ') FROM pg_tables "
                    "WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
                )
            )
        ).scalar_one()
        if tables:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def database(
    migrated_database: Database, database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """The run's database, emptied before the test; the ledger's invariants and the flow
    rollup are checked after it (unless the test tampers with the ledger on purpose)."""
    await _reset(migrated_database, database_url)
    yield migrated_database
    if request.node.get_closest_marker("tampers_ledger") is None:
        async with migrated_database.snapshot() as session:
            report = await verify_all(session)
        assert report.ok, f"ledger invariants broken after the test: {report.violations}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return _settings(database_url)


@pytest.fixture
async def client(database: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the app in-process over ASGI."""
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def pytest_report_header() -> str:
    return f"TEST_DATABASE_URL={os.environ.get('TEST_DATABASE_URL', '(default)')}"
