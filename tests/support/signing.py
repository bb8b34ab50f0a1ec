"""The ledger signing key of the test suite's apps, and sealing on demand with it."""

from __future__ import annotations

from app.db import Database
from app.ledger.seal import seal_pending
from app.ledger.signing import TreeSigner
from app.sql.types import utcnow

SIGNING_KEY = "dHJpYnV0YXJ5LXRlc3Qtc2lnbmluZy1rZXktMzJieXQ="  # 32 bytes, tests only
SIGNER = TreeSigner.from_base64(SIGNING_KEY)


async def seal_everything(database: Database) -> int:
    """Seal every committed entry, as the sealing job would; returns how many."""
    total = 0
    while sealed := await database.transaction(
        lambda session: seal_pending(session, SIGNER, now=utcnow())
    ):
        total += sealed
    return total
