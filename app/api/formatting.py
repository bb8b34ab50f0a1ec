"""Money for people to read: integer minor units to "1,234.50", with integer arithmetic only."""

from __future__ import annotations

from app.domain.money.currency import minor_units


def money(amount: int, currency: str) -> str:
    exponent = minor_units(currency) or 0
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    text = f"{whole:,}"
    if exponent:
        text += f".{fraction:0{exponent}d}"
    return f"{sign}{text}"


def percent(part: int, whole: int) -> float:
    """A bar width (display only; never used for money)."""
    return 0.0 if whole <= 0 else round(100 * part / whole, 3)
