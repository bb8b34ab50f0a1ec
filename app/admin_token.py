"""Who the platform admin is, from the settings.

`TRIBUTARY_ADMIN_TOKEN` wins. Otherwise the embedded (SQLite) default keeps a random token in
`TRIBUTARY_ADMIN_TOKEN_FILE` (default: `tributary-admin.token` beside the database file),
generating it on first use, so that a newcomer who runs `tributary demo && tributary serve`
with nothing configured can deposit money and create organisations and keys at once (the
demo prints the token) instead of meeting a 403 and restarting. The token is 32 random bytes
(`secrets.token_urlsafe`), never a fixed or derived value, and the file is readable by its
owner only (0600), like the generated signing key.

A PostgreSQL deployment never gets a generated admin: it runs several instances that must
agree, and an admin nobody configured is a door nobody watches. There the variable stays the
only way, and without it there is no admin.

Resolved where a process starts serving (`tributary serve`, `uvicorn app.main:app`) and by
`tributary demo`; `create_app(settings)` itself takes the settings as given, so building the
app (tests, `tributary openapi`) never writes a file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from pydantic import SecretStr

from app.settings import MIN_ADMIN_TOKEN_LENGTH, Settings, SettingsError

TOKEN_BYTES = 32
TOKEN_FILE_NAME = "tributary-admin.token"  # noqa: S105 - a file name, not a secret


def token_file(settings: Settings) -> Path | None:
    """Where the embedded default keeps its admin token; None on PostgreSQL."""
    if not settings.is_sqlite:
        return None
    if settings.admin_token_file:
        return Path(settings.admin_token_file)
    database_path = Path(settings.database_url.split(":///", 1)[1])
    return database_path.parent / TOKEN_FILE_NAME


def _read(path: Path) -> str:
    try:
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeError) as error:
        raise SettingsError(
            f"TRIBUTARY_ADMIN_TOKEN_FILE: {path} cannot be read ({error})"
        ) from None
    if len(token) < MIN_ADMIN_TOKEN_LENGTH or not token.isprintable() or " " in token:
        raise SettingsError(
            f"TRIBUTARY_ADMIN_TOKEN_FILE: {path} does not hold an admin token (one line of at "
            f"least {MIN_ADMIN_TOKEN_LENGTH} characters); delete it to have a new one generated"
        )
    return token


def _create(path: Path) -> None:
    """Publish a new token at `path` atomically: written and synced under a private temporary
    name (mkstemp makes it 0600), then hard-linked into place, which fails if another process
    (a second server worker) got there first — then both use that one."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tributary-admin-")
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(TOKEN_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def resolve_admin_token(settings: Settings) -> str | None:
    """The admin's bearer secret, generating the embedded default's on first use; None when
    this deployment has no admin (PostgreSQL without TRIBUTARY_ADMIN_TOKEN)."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    path = token_file(settings)
    if path is None:
        return None
    if not path.exists():
        try:
            _create(path)
        except OSError as error:
            raise SettingsError(
                f"TRIBUTARY_ADMIN_TOKEN_FILE: cannot create {path} ({error})"
            ) from None
    return _read(path)


def with_admin_token(settings: Settings) -> Settings:
    """The settings with the resolved admin token in place (unchanged if there is none)."""
    if settings.admin_token is not None:
        return settings
    token = resolve_admin_token(settings)
    if token is None:
        return settings
    return settings.model_copy(update={"admin_token": SecretStr(token)})
