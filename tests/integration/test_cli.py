"""Every `tributary` command a newcomer runs, each in its own process, on both engines.

A command-line process imports only what its command needs, unlike the app or the test
suite, which import every table; a model its command did not import once left a foreign key
untyped there, and `tributary verify` reported breaks in a demo market that had none
(issue 16). So these run the real console entry point in fresh interpreters, on a fresh
SQLite file and on a scratch PostgreSQL database.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.scratch_db import scratch_database
from tests.support.servers import server_env

COMMAND_TIMEOUT_SECONDS = 240
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def cli_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database nothing has touched yet: a fresh SQLite file, or a new PostgreSQL one."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 't.db'}"
        return
    server = request.getfixturevalue("postgres_server_url")
    with scratch_database(server, "cli", migrated=False) as url:
        yield url


def tributary(database_url: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `tributary ARGS` as a newcomer would: its own process, no admin token set (on
    PostgreSQL, the signing key a deployment must have)."""
    env = server_env(database_url, TRIBUTARY_ADMIN_TOKEN="", TRIBUTARY_LOG_LEVEL="ERROR")
    if database_url.startswith("sqlite"):
        env["TRIBUTARY_LEDGER_SIGNING_KEY"] = ""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def row_counts(database_url: str) -> dict[str, int]:
    """How many rows every table holds, read behind the application's back."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.split(":///", 1)[1]) as conn:
            names = [
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return {
                name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names
            }
    plain = "postgresql://" + database_url.split("://", 1)[1]
    with psycopg.connect(plain) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        counts: dict[str, int] = {}
        for name in names:
            row = conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()
            assert row is not None
            counts[name] = int(row[0])
        return counts


def test_every_command_a_newcomer_runs_works_in_its_own_process(
    cli_database_url: str, tmp_path: Path
) -> None:
    assert "database schema at" in succeeded(tributary(cli_database_url, tmp_path, "migrate"))

    created = succeeded(tributary(cli_database_url, tmp_path, "demo"))
    assert "Demo market created" in created
    assert "Aqua Foundation" in created
    assert created.count(" trb_") == 9  # one key per demo organisation
    token_file = tmp_path / "tributary-admin.token"
    if cli_database_url.startswith("sqlite"):  # the embedded default is its own admin
        assert f"Admin token: {token_file.read_text().strip()}" in created
    else:  # PostgreSQL's admin is configured or absent, never generated
        assert "No admin: set TRIBUTARY_ADMIN_TOKEN" in created
        assert not token_file.exists()
    after_first = row_counts(cli_database_url)
    assert after_first["ledger_entries"] > 0

    again = succeeded(tributary(cli_database_url, tmp_path, "demo"))
    assert "already in this database" in again
    assert " trb_" not in again  # keys are shown once
    assert row_counts(cli_database_url) == after_first

    verified = tributary(cli_database_url, tmp_path, "verify")
    report = json.loads(succeeded(verified))
    assert report["ok"] is True, report["violations"]
    assert report["violations"] == []
    assert report["entries_checked"] == after_first["ledger_entries"]

    key = succeeded(tributary(cli_database_url, tmp_path, "keygen")).strip()
    assert len(base64.b64decode(key, validate=True)) == 32  # an Ed25519 seed

    document = succeeded(tributary(cli_database_url, tmp_path, "openapi"))
    assert json.loads(document) == json.loads((REPOSITORY / "openapi/openapi.json").read_text())

    from app import __version__

    assert succeeded(tributary(cli_database_url, tmp_path, "version")).strip() == __version__
