"""The public log is a promise: a PostgreSQL deployment without a signing key does not start
(`tributary serve`, `tributary worker`) unless sealing is turned off on purpose with
TRIBUTARY_LEDGER_SEALING=off; the embedded SQLite default keeps generating its key file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.settings import SettingsError
from tests.support.scratch_db import scratch_database
from tests.support.servers import free_port, server_env, start_server, stop_server

pytestmark = pytest.mark.postgres_only

REFUSAL_TIMEOUT_SECONDS = 30


@pytest.fixture(scope="module")
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    with scratch_database(postgres_server_url, "sealing") as url:
        yield url


def keyless(database_url: str, folder: Path, **extra: str) -> dict[str, str]:
    """A server environment with no signing key and no key file to fall back on."""
    return server_env(
        database_url,
        TRIBUTARY_LEDGER_SIGNING_KEY="",
        TRIBUTARY_LEDGER_SIGNING_KEY_FILE=str(folder / "no-such-signing.key"),
        **extra,
    )


def run_to_exit(
    command: str, env: dict[str, str], folder: Path
) -> subprocess.CompletedProcess[str]:
    """Run a CLI command that must end by itself; one that keeps running fails the test."""
    args = [sys.executable, "-m", "app.cli", command]
    if command == "serve":
        args += ["--port", str(free_port())]
    try:
        return subprocess.run(
            args,
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=REFUSAL_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`tributary {command}` started without a signing key on PostgreSQL")


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_postgresql_without_a_signing_key_refuses_to_start_in_one_line(
    postgres_url: str, tmp_path: Path, command: str
) -> None:
    result = run_to_exit(command, keyless(postgres_url, tmp_path), tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tributary: TRIBUTARY_LEDGER_SIGNING_KEY")
    assert "TRIBUTARY_LEDGER_SEALING=off" in lines[0]
    assert "Traceback" not in result.stderr


def test_postgresql_with_sealing_off_serves_and_says_so(postgres_url: str, tmp_path: Path) -> None:
    server = start_server(
        postgres_url,
        tmp_path,
        TRIBUTARY_LEDGER_SIGNING_KEY="",
        TRIBUTARY_LEDGER_SIGNING_KEY_FILE=str(tmp_path / "no-such-signing.key"),
        TRIBUTARY_LEDGER_SEALING="off",
    )
    try:
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        key = httpx.get(f"{server.url}/v1/public/ledger/key", timeout=5)
        assert (key.status_code, key.json()["code"]) == (404, "sealing_off")
    finally:
        stop_server(server)
    assert not (tmp_path / "no-such-signing.key").exists()


def test_postgresql_worker_with_sealing_off_runs_until_sigterm(
    postgres_url: str, tmp_path: Path
) -> None:
    env = keyless(postgres_url, tmp_path, TRIBUTARY_LEDGER_SEALING="off")
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", "--interval", "0.1"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr


def test_the_embedded_default_generates_its_key_beside_the_database(tmp_path: Path) -> None:
    database = tmp_path / "embedded.db"
    server = start_server(
        f"sqlite+aiosqlite:///{database}", tmp_path, TRIBUTARY_LEDGER_SIGNING_KEY=""
    )
    try:
        key = httpx.get(f"{server.url}/v1/public/ledger/key", timeout=5)
        assert key.status_code == 200
    finally:
        stop_server(server)
    assert (tmp_path / "tributary-signing.key").exists()


def test_the_embedded_default_with_sealing_off_makes_no_key(tmp_path: Path) -> None:
    database = tmp_path / "embedded.db"
    server = start_server(
        f"sqlite+aiosqlite:///{database}",
        tmp_path,
        TRIBUTARY_LEDGER_SIGNING_KEY="",
        TRIBUTARY_LEDGER_SEALING="off",
    )
    try:
        key = httpx.get(f"{server.url}/v1/public/ledger/key", timeout=5)
        assert (key.status_code, key.json()["code"]) == (404, "sealing_off")
    finally:
        stop_server(server)
    assert not (tmp_path / "tributary-signing.key").exists()


def test_the_app_module_refuses_too_when_run_by_uvicorn_directly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`uvicorn app.main:app` builds the app from the environment without the CLI."""
    from app.main import _app_from_environment
    from app.settings import get_settings
    from app.signing_key import require_sealing_key

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/unused")
    monkeypatch.delenv("TRIBUTARY_LEDGER_SIGNING_KEY", raising=False)
    monkeypatch.delenv("TRIBUTARY_LEDGER_SIGNING_KEY_FILE", raising=False)
    monkeypatch.delenv("TRIBUTARY_LEDGER_SEALING", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as stopped:
            _app_from_environment()
        assert str(stopped.value).startswith("tributary: TRIBUTARY_LEDGER_SIGNING_KEY")
        monkeypatch.setenv("TRIBUTARY_LEDGER_SEALING", "off")
        get_settings.cache_clear()
        require_sealing_key(get_settings())  # turned off on purpose: no complaint
    finally:
        get_settings.cache_clear()


def test_a_key_file_that_is_not_a_key_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    from app.settings import Settings
    from app.signing_key import require_sealing_key

    garbage = tmp_path / "signing.key"
    garbage.write_text("not a key\n")
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:1/unused",
        ledger_signing_key_file=str(garbage),
    )
    with pytest.raises(SettingsError) as refused:
        require_sealing_key(settings)
    assert str(refused.value).startswith("TRIBUTARY_LEDGER_SIGNING_KEY_FILE")
    assert "\n" not in str(refused.value)
