"""The round's escrow account: the matching pool between creation and close.

One account per round (code `round`, owner `round:{id}`), never below zero; it is empty
once the round is closed (every cent placed as a pledge or returned to the sponsor).
"""

from __future__ import annotations

import uuid

from app.ledger import Account, AccountFlags, Ledger


def round_ref(round_id: uuid.UUID) -> str:
    return f"round:{round_id}"


def round_escrow(round_id: uuid.UUID, currency: str) -> Account:
    return Ledger.declare_account(
        code="round",
        currency=currency,
        owner_ref=round_ref(round_id),
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )
