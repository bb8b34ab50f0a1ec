"""Amounts as people read them: "USD 30,000.00" from 3000000 minor units of USD.

The exponent is the currency's ISO 4217 minor unit (USD 2, JPY 0, BHD 3), so the text is
exact: integer arithmetic only, no floats, no locale. Exports put it beside the integer so a
spreadsheet sums the integers and a board reads the text.
"""

from __future__ import annotations

from app.domain.money.currency import minor_units


def format_amount(amount_minor: int, currency: str) -> str:
    """`{currency} {sign}{grouped whole}.{minor}`, e.g. "USD -1,234.05", "JPY 1,000"."""
    exponent = minor_units(currency)
    if exponent is None:
        raise ValueError(f"{currency!r} has no ISO 4217 minor unit")
    sign = "-" if amount_minor < 0 else ""
    whole, minor = divmod(abs(amount_minor), 10**exponent)
    text = f"{whole:,}"
    if exponent:
        text += f".{minor:0{exponent}d}"
    return f"{currency} {sign}{text}"
