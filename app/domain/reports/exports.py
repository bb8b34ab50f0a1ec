"""What the CSV exports need beyond the JSON lists: the currency a statement is in.

A statement line is signed money of one wallet, and the wallet's currency is the statement's;
the JSON list leaves it implicit (the caller asked for it, or the org holds one), a CSV row
must carry it for its formatted column.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.money import chart
from app.ledger import Ledger


async def statement_currency(
    session: AsyncSession, org_id: uuid.UUID, currency: str | None
) -> str | None:
    """The currency of the org's statement: the one asked for, else its only wallet's (the
    statement itself refuses an unnamed currency when there are several)."""
    if currency is not None:
        return currency
    wallets = await chart.wallets(Ledger(session), org_id)
    return wallets[0].currency if len(wallets) == 1 else None
