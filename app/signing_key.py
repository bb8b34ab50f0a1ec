"""Which key signs the ledger's tree heads, from the settings.

`TRIBUTARY_LEDGER_SIGNING_KEY` wins. Otherwise the embedded (SQLite) default keeps a key in
`TRIBUTARY_LEDGER_SIGNING_KEY_FILE` (default: `tributary-signing.key` beside the database
file), generating it on first use. A PostgreSQL deployment runs several instances that must
share one key, so there it is never generated, and the public log is a promise: without a
configured key (or key file) `serve` and `worker` refuse to start (`require_sealing_key`)
unless `TRIBUTARY_LEDGER_SEALING=off` says that running without a log is intended.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.ledger import TreeSigner
from app.settings import Settings, SettingsError

log = logging.getLogger(__name__)


def key_file(settings: Settings) -> Path:
    if settings.ledger_signing_key_file:
        return Path(settings.ledger_signing_key_file)
    if settings.is_sqlite:
        database_path = Path(settings.database_url.split(":///", 1)[1])
        return database_path.parent / "tributary-signing.key"
    return Path("tributary-signing.key")


def load_signer(settings: Settings) -> TreeSigner | None:
    """The signer, or None when this deployment does not seal."""
    if not settings.ledger_sealing:
        return None
    if settings.ledger_signing_key is not None:
        return TreeSigner.from_base64(settings.ledger_signing_key.get_secret_value())
    signer = TreeSigner.from_file(key_file(settings), create=settings.is_sqlite)
    if signer is None:
        log.warning(
            "ledger sealing is off: set TRIBUTARY_LEDGER_SIGNING_KEY "
            "(generate one with `tributary keygen`), or TRIBUTARY_LEDGER_SEALING=off"
        )
    return signer


def require_sealing_key(settings: Settings) -> None:
    """Refuse, in one line, a PostgreSQL deployment that would not seal by accident.

    Called before `serve` and `worker` start (and when uvicorn imports the app). The
    embedded default passes: it generates its key on first use.
    """
    if not settings.ledger_sealing or settings.is_sqlite or settings.ledger_signing_key is not None:
        return
    path = key_file(settings)
    if path.exists():
        try:
            TreeSigner.from_file(path, create=False)
        except (OSError, UnicodeError, ValueError):
            raise SettingsError(
                f"TRIBUTARY_LEDGER_SIGNING_KEY_FILE: {path} does not hold a base64 Ed25519 "
                "seed (generate one with `tributary keygen`)"
            ) from None
        return
    raise SettingsError(
        "TRIBUTARY_LEDGER_SIGNING_KEY is not set: a PostgreSQL deployment signs its public "
        "ledger log with it (generate one with `tributary keygen`, the same on every "
        "instance), or set TRIBUTARY_LEDGER_SEALING=off to run without a public log"
    )


class SignerSource:
    """Loads the signer on first use, so building the app (e.g. for `tributary openapi`)
    never creates a key file."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loaded = False
        self._signer: TreeSigner | None = None

    def get(self) -> TreeSigner | None:
        if not self._loaded:
            self._signer = load_signer(self.settings)
            self._loaded = True
        return self._signer
