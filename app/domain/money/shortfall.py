"""The one way a wallet that is short says so: money in words, the numbers in fields."""

from __future__ import annotations

from app.domain.errors import InsufficientFunds
from app.domain.money.currency import spoken


def wallet_short(available: int, requested: int, currency: str, what: str) -> InsufficientFunds:
    """409 `insufficient_funds` for a wallet holding `available` when `what` (e.g. "the
    pledge needs") asks for `requested`."""
    assert available < requested, "a wallet that holds enough is not short"
    return InsufficientFunds(
        f"The wallet has {spoken(available, currency)} available; {what} "
        f"{spoken(requested, currency)}.",
        available=available,
        requested=requested,
        currency=currency,
    )
