"""ISO 4217 currencies and their minor units, from the maintained `iso4217` package."""

from __future__ import annotations

from functools import lru_cache

from iso4217 import Currency

from app.domain.errors import Unprocessable
from app.domain.wording import quoted


@lru_cache(maxsize=512)
def minor_units(code: str) -> int | None:
    """The currency's exponent (USD 2, JPY 0, BHD 3), or None if it is not ISO 4217 money."""
    try:
        currency = Currency(code)
    except (ValueError, KeyError):
        return None
    exponent = currency.exponent
    return exponent if isinstance(exponent, int) else None


def validate_currency(code: str) -> str:
    """The code if it names a circulating ISO 4217 currency with minor units, else 422.

    Funds codes and metals (XAU, XDR, ...) have no minor unit and are refused.
    """
    if not (len(code) == 3 and code.isascii() and code.isupper() and code.isalpha()):
        raise Unprocessable(
            f"{quoted(code)} is not an ISO 4217 currency code (three capital letters, e.g. USD).",
            code="unsupported_currency",
        )
    if minor_units(code) is None:
        raise Unprocessable(
            f"{code} is not a currency Tributary can hold (no ISO 4217 minor unit).",
            code="unsupported_currency",
        )
    return code


def spoken(amount: int, currency: str) -> str:
    """Minor units as people read money: spoken(33_900_000, "USD") -> "USD 339,000.00",
    "JPY 1,500" (integer arithmetic only; a currency without minor units shows them raw)."""
    exponent = minor_units(currency) or 0
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    text = f"{whole:,}" + (f".{fraction:0{exponent}d}" if exponent else "")
    return f"{currency} {sign}{text}"
