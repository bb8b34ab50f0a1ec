"""Configuration from the environment, validated once at start-up.

Every setting has a safe default so that `tributary serve` works on a fresh machine against an
embedded SQLite file. A bad value stops the process with one readable line (see
`load_settings`), never with a traceback.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./tributary.db"
MIN_ADMIN_TOKEN_LENGTH = 16

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class SettingsError(Exception):
    """Raised with a single human-readable line describing every invalid setting."""


def normalize_database_url(raw: str) -> str:
    """Map the URL spellings operators use to the async drivers we ship.

    `postgresql://` and `postgres://` become `postgresql+asyncpg://`; `sqlite:///` becomes
    `sqlite+aiosqlite:///`. Anything else is refused so that a typo fails at start-up.
    """
    url = raw.strip()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite:///")):
        return url
    raise ValueError(
        "must start with postgresql://, postgresql+asyncpg://, sqlite:/// or sqlite+aiosqlite:///"
    )


class Settings(BaseSettings):
    """Tributary's settings; environment variables are `TRIBUTARY_<NAME>` unless noted."""

    model_config = SettingsConfigDict(
        env_prefix="TRIBUTARY_",
        extra="ignore",
        case_sensitive=False,
        frozen=True,
        populate_by_name=True,
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "TRIBUTARY_DATABASE_URL"),
        description="PostgreSQL (asyncpg) or SQLite (aiosqlite) URL.",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer secret of the platform admin. When unset, the embedded SQLite "
        "default generates one in admin_token_file; PostgreSQL then has no admin.",
    )
    admin_token_file: str | None = Field(
        default=None,
        description="Where the embedded default keeps its generated admin token "
        "(default: beside the SQLite database file); ignored on PostgreSQL.",
    )
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_pool_timeout_seconds: int = Field(default=10, ge=1, le=300)
    db_statement_timeout_ms: int = Field(default=30_000, ge=100, le=600_000)
    log_level: LogLevel = "INFO"
    log_json: bool = True
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    transaction_max_attempts: int = Field(default=8, ge=1, le=50)
    rate_limit_per_second: int = Field(
        default=300, ge=0, le=1_000_000, description="Requests per second per key; 0 = off."
    )
    rate_limit_burst: int = Field(default=600, ge=1, le=10_000_000)
    org_rate_limit_per_second: int = Field(
        default=600,
        ge=0,
        le=1_000_000,
        description="Requests per second of all an organisation's keys together (it may mint "
        "many keys); 0 = no organisation limit. Off too when the per-key limit is 0.",
    )
    org_rate_limit_burst: int = Field(default=1200, ge=1, le=10_000_000)
    ledger_signing_key: SecretStr | None = Field(
        default=None, description="Base64 Ed25519 seed (32 bytes) that signs ledger tree heads."
    )
    ledger_sealing: bool = Field(
        default=True,
        description="Seal the ledger into the signed public log (on/off). Off only on purpose: "
        "a PostgreSQL deployment without a signing key refuses to start unless this is off.",
    )
    ledger_signing_key_file: str | None = Field(
        default=None,
        description="Where the embedded default keeps its generated signing key "
        "(default: beside the SQLite database file).",
    )
    due_work_interval_seconds: float = Field(
        default=1.0, ge=0, le=3600, description="Due-work cadence in each app process; 0 = off."
    )
    redis_url: str | None = Field(
        default=None, description="Redis for rate limits shared by every process."
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow webhook URLs on private/loopback addresses and plain http "
        "(tests, internal installations); off to prevent SSRF.",
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    webhook_retry_scale: float = Field(
        default=1.0, ge=0, le=10, description="Multiplies the Standard Webhooks retry delays."
    )
    webhook_disable_after: int = Field(
        default=15, ge=1, le=1000, description="Consecutive failed attempts that disable a webhook."
    )

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("admin_token")
    @classmethod
    def _admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if len(value.get_secret_value()) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_ADMIN_TOKEN_LENGTH} characters")
        return value

    @field_validator("ledger_signing_key")
    @classmethod
    def _signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        try:
            seed = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64") from None
        if len(seed) != 32:
            raise ValueError("must decode to 32 bytes (an Ed25519 seed)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def describe_validation_error(error: ValidationError) -> str:
    """Render every invalid field as `NAME: reason` on one line."""
    parts = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]).upper() or "SETTINGS"
        known = name == "DATABASE_URL" or name.startswith("TRIBUTARY_")
        env_name = name if known else f"TRIBUTARY_{name}"
        message = str(item["msg"]).removeprefix("Value error, ")
        parts.append(f"{env_name}: {message}")
    return "invalid settings: " + "; ".join(parts)


def load_settings() -> Settings:
    """Read and validate the environment; raise SettingsError with one line on failure."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
