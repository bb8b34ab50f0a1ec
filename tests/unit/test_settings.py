"""Settings accept the URL spellings operators use and fail with one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.settings import Settings, SettingsError, load_settings, normalize_database_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://u@h:5432/d", "postgresql+asyncpg://u@h:5432/d"),
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
        ("sqlite+aiosqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
    ],
)
def test_database_url_spellings_are_normalised(raw: str, expected: str) -> None:
    assert normalize_database_url(raw) == expected


def test_default_is_embedded_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert Settings().is_sqlite


@pytest.mark.parametrize(("value", "sealing"), [("on", True), ("off", False), ("OFF", False)])
def test_ledger_sealing_is_on_unless_turned_off(
    monkeypatch: pytest.MonkeyPatch, value: str, sealing: bool
) -> None:
    monkeypatch.delenv("TRIBUTARY_LEDGER_SEALING", raising=False)
    assert Settings().ledger_sealing
    monkeypatch.setenv("TRIBUTARY_LEDGER_SEALING", value)
    assert Settings().ledger_sealing is sealing


@pytest.mark.parametrize(
    ("name", "value", "mentions"),
    [
        ("DATABASE_URL", "mysql://root@h/d", "DATABASE_URL"),
        ("TRIBUTARY_ADMIN_TOKEN", "short", "TRIBUTARY_ADMIN_TOKEN"),
        ("TRIBUTARY_DB_POOL_SIZE", "zero", "TRIBUTARY_DB_POOL_SIZE"),
        ("TRIBUTARY_LOG_LEVEL", "LOUD", "TRIBUTARY_LOG_LEVEL"),
        ("TRIBUTARY_LEDGER_SEALING", "maybe", "TRIBUTARY_LEDGER_SEALING"),
        ("TRIBUTARY_ORG_RATE_LIMIT_PER_SECOND", "-1", "TRIBUTARY_ORG_RATE_LIMIT_PER_SECOND"),
    ],
)
def test_invalid_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, mentions: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert mentions in message
    assert "\n" not in message


def test_cli_reports_invalid_settings_in_one_line_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env={"DATABASE_URL": "mysql://nope", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("tributary: invalid settings: DATABASE_URL")
    assert "Traceback" not in result.stderr


def test_cli_prints_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip()
