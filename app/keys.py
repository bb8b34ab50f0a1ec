"""Which key signs the ledger's tree heads, from the settings.

`TRIBUTARY_LEDGER_SIGNING_KEY` wins. Otherwise the embedded (SQLite) default keeps a key in
`TRIBUTARY_LEDGER_SIGNING_KEY_FILE` (default: `tributary-signing.key` beside the database
file), generating it on first use. A PostgreSQL deployment
runs several instances that must share one key, so there it is never generated: without a
configured key (or key file) sealing is off and a warning says how to turn it on.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.ledger.signing import TreeSigner
from app.settings import Settings

log = logging.getLogger(__name__)


def key_file(settings: Settings) -> Path:
    if settings.ledger_signing_key_file:
        return Path(settings.ledger_signing_key_file)
    if settings.is_sqlite:
        database_path = Path(settings.database_url.split(":///", 1)[1])
        return database_path.parent / "tributary-signing.key"
    return Path("tributary-signing.key")


def load_signer(settings: Settings) -> TreeSigner | None:
    if settings.ledger_signing_key is not None:
        return TreeSigner.from_base64(settings.ledger_signing_key.get_secret_value())
    signer = TreeSigner.from_file(key_file(settings), create=settings.is_sqlite)
    if signer is None:
        log.warning(
            "ledger sealing is off: set TRIBUTARY_LEDGER_SIGNING_KEY "
            "(generate one with `tributary keygen`)"
        )
    return signer


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
