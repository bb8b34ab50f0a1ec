"""The embedded default has an admin from the first minute; PostgreSQL only by configuration.

A newcomer following the README runs `tributary demo && tributary serve` with nothing set:
deposits, organisations and keys need the admin, so the embedded default generates a random
admin token beside its database (TRIBUTARY_ADMIN_TOKEN_FILE, mode 0600), uses it, and the
demo prints it. A PostgreSQL deployment never gets a generated admin: without
TRIBUTARY_ADMIN_TOKEN there is none.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.admin_token import TOKEN_FILE_NAME, resolve_admin_token, with_admin_token
from app.settings import Settings, SettingsError
from tests.support.scratch_db import scratch_database
from tests.support.servers import server_env, start_server, stop_server

REPOSITORY = Path(__file__).resolve().parents[2]
ORG = {"name": "Newcomer Foundation", "roles": ["funder"]}
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32): 256 random bits


def embedded(folder: Path, **values: object) -> Settings:
    return Settings(database_url=f"sqlite:///{folder / 'tributary.db'}", **values)  # type: ignore[arg-type]


def test_the_embedded_default_generates_a_private_token_once_and_reuses_it(
    tmp_path: Path,
) -> None:
    token = resolve_admin_token(embedded(tmp_path))
    path = tmp_path / TOKEN_FILE_NAME
    assert token is not None
    assert TOKEN.match(token)
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_admin_token(embedded(tmp_path)) == token
    configured = with_admin_token(embedded(tmp_path)).admin_token
    assert configured is not None
    assert configured.get_secret_value() == token
    moved = embedded(tmp_path / "elsewhere", admin_token_file=str(path))
    assert resolve_admin_token(moved) == token


def test_two_databases_get_two_different_tokens(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert resolve_admin_token(embedded(tmp_path / "a")) != resolve_admin_token(
        embedded(tmp_path / "b")
    )


def test_a_configured_token_wins_and_nothing_is_generated(tmp_path: Path) -> None:
    configured = "configured-admin-token-0123456789"
    assert resolve_admin_token(embedded(tmp_path, admin_token=configured)) == configured
    assert not (tmp_path / TOKEN_FILE_NAME).exists()


def test_postgresql_never_generates_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    wanted = tmp_path / "admin.token"
    for settings in (
        Settings(database_url="postgresql://postgres@127.0.0.1:1/unused"),
        Settings(
            database_url="postgresql://postgres@127.0.0.1:1/unused",
            admin_token_file=str(wanted),
        ),
    ):
        assert resolve_admin_token(settings) is None
        assert with_admin_token(settings).admin_token is None
    assert list(tmp_path.iterdir()) == []


def test_a_token_file_that_holds_no_token_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / TOKEN_FILE_NAME).write_text("short\n")
    with pytest.raises(SettingsError) as refused:
        resolve_admin_token(embedded(tmp_path))
    assert str(refused.value).startswith("TRIBUTARY_ADMIN_TOKEN_FILE")
    assert "\n" not in str(refused.value)


def run_cli(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_demo_prints_the_generated_token_and_serve_accepts_it(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'tributary.db'}"
    env = server_env(database_url, TRIBUTARY_ADMIN_TOKEN="", TRIBUTARY_LEDGER_SIGNING_KEY="")
    demo = run_cli(tmp_path, env, "demo")
    assert demo.returncode == 0, demo.stderr
    token = (tmp_path / TOKEN_FILE_NAME).read_text().strip()
    assert f"Admin token: {token}" in demo.stdout
    again = run_cli(tmp_path, env, "demo")
    assert f"Admin token: {token}" in again.stdout

    server = start_server(
        database_url, tmp_path, TRIBUTARY_ADMIN_TOKEN="", TRIBUTARY_LEDGER_SIGNING_KEY=""
    )
    try:
        created = httpx.post(
            f"{server.url}/v1/orgs", json=ORG, headers={"Authorization": f"Bearer {token}"}
        )
        assert created.status_code == 201, created.text
        guessed = httpx.post(
            f"{server.url}/v1/orgs", json=ORG, headers={"Authorization": f"Bearer {token}x"}
        )
        assert guessed.status_code == 401
    finally:
        stop_server(server)


def test_a_server_on_a_fresh_file_makes_its_own_admin(tmp_path: Path) -> None:
    """No demo first: `tributary serve` alone generates the token and accepts it."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    server = start_server(
        database_url, tmp_path, TRIBUTARY_ADMIN_TOKEN="", TRIBUTARY_LEDGER_SIGNING_KEY=""
    )
    try:
        token = (tmp_path / TOKEN_FILE_NAME).read_text().strip()
        created = httpx.post(
            f"{server.url}/v1/orgs", json=ORG, headers={"Authorization": f"Bearer {token}"}
        )
        assert created.status_code == 201, created.text
    finally:
        stop_server(server)
    assert stat.S_IMODE((tmp_path / TOKEN_FILE_NAME).stat().st_mode) == 0o600


def test_a_postgresql_server_without_the_variable_has_no_admin(
    postgres_server_url: str, tmp_path: Path
) -> None:
    with scratch_database(postgres_server_url, "noadmin") as url:
        env = server_env(url, TRIBUTARY_ADMIN_TOKEN="")
        demo = run_cli(tmp_path, env, "demo")
        assert demo.returncode == 0, demo.stderr
        assert "Admin token:" not in demo.stdout
        assert "TRIBUTARY_ADMIN_TOKEN" in demo.stdout  # says how to get an admin
        server = start_server(url, tmp_path, TRIBUTARY_ADMIN_TOKEN="")
        try:
            for guess in ("x" * 43, "test-admin-token-0123456789abcdef"):
                refused = httpx.post(
                    f"{server.url}/v1/orgs", json=ORG, headers={"Authorization": f"Bearer {guess}"}
                )
                assert refused.status_code == 401
        finally:
            stop_server(server)
    assert not any(path.name.endswith(".token") for path in tmp_path.rglob("*"))


def quickstart_script() -> str:
    """The README's second quickstart block: what a newcomer types while the server runs."""
    blocks = re.findall(r"```sh\n(.*?)```", (REPOSITORY / "README.md").read_text(), re.DOTALL)
    using = [block for block in blocks if TOKEN_FILE_NAME in block]
    assert len(using) == 1, "README has one quickstart block that uses the admin token"
    return using[0]


def json_values(text: str) -> list[object]:
    """The JSON documents curl printed one after another (bodies end without a newline)."""
    decoder, values, position = json.JSONDecoder(), [], 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        value, position = decoder.raw_decode(text, position)
        values.append(value)
    return values


def test_the_readme_quickstart_deposits_pledges_and_reads_flows_as_written(
    tmp_path: Path,
) -> None:
    """Run README's commands verbatim (only the port differs) against `tributary demo` and
    `tributary serve` on a fresh embedded database with nothing configured."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'tributary.db'}"
    env = server_env(database_url, TRIBUTARY_ADMIN_TOKEN="", TRIBUTARY_LEDGER_SIGNING_KEY="")
    assert run_cli(tmp_path, env, "demo").returncode == 0
    server = start_server(
        database_url, tmp_path, TRIBUTARY_ADMIN_TOKEN="", TRIBUTARY_LEDGER_SIGNING_KEY=""
    )
    try:
        script = quickstart_script().replace("http://127.0.0.1:8000", server.url)
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}"
        outputs = json_values(ran.stdout)
        deposit, pledge, flows, balances = outputs[-4:]
        assert deposit["amount"] == 100_000
        assert (pledge["amount"], pledge["status"]) == (25_000, "active")
        assert any(link["amount"] >= 25_000 for link in flows["links"])
        assert balances == {"balances": [{"currency": "USD", "available": 75_000, "held": 0}]}
    finally:
        stop_server(server)
