"""Pure maths of price-per-outcome bids. No I/O, no floats.

A per-unit bid names a unit price and a maximum of units; its amount (what the award
escrows) is their product. It is paid unit_price x min(verified value, max_units), rounded
down to the minor unit (a verified value is the median of integer measurements, so it may be
a half). That payout is exactly the escrow times min(1, value / max_units), so it goes
through the one payout path (`rules.payout_amount`) with this fraction in place of the
milestone's outcome fraction, and the rest of the escrow returns to the pledges.
"""

from __future__ import annotations

from fractions import Fraction

from app.domain.money.currency import spoken
from app.domain.wording import listed, quoted

PRICINGS = ("lump_sum", "per_unit")


def per_unit_amount(unit_price: int, max_units: int) -> int:
    """What a per-unit bid escrows: every unit it may be paid for."""
    if unit_price <= 0 or max_units <= 0:
        raise ValueError("unit_price and max_units must be positive")
    return unit_price * max_units


def per_unit_fraction(value: Fraction, max_units: int) -> Fraction:
    """The share of the escrow a verified value earns: min(1, value / max_units)."""
    if max_units <= 0 or value < 0:
        raise ValueError("max_units must be positive and value non-negative")
    return min(Fraction(1), Fraction(value) / max_units)


def per_unit_payout(unit_price: int, max_units: int, value: Fraction) -> int:
    """floor(unit_price x min(value, max_units)): the units verified, up to the maximum."""
    if unit_price <= 0 or max_units <= 0 or value < 0:
        raise ValueError("unit_price and max_units must be positive, value non-negative")
    units = min(Fraction(value), Fraction(max_units))
    return unit_price * units.numerator // units.denominator


def check_pricing(
    pricing: str, amount: int, unit_price: int | None, max_units: int | None, currency: str
) -> str | None:
    """Why a bid's pricing terms do not hold together (a message for the bidder, money in
    the challenge's currency), or None."""
    if pricing not in PRICINGS:
        return f"pricing must be {listed(PRICINGS, conjunction='or')}, not {quoted(pricing)}."
    if pricing == "lump_sum":
        if unit_price is not None or max_units is not None:
            return "unit_price and max_units belong to per_unit bids; this bid is lump_sum."
        return None
    if unit_price is None or max_units is None:
        return "A per_unit bid needs both unit_price and max_units."
    if unit_price <= 0 or max_units <= 0:
        return "unit_price and max_units must be positive."
    if amount != unit_price * max_units:
        return (
            f"A per_unit bid's amount must equal unit_price x max_units = "
            f"{spoken(unit_price, currency)} x {max_units:,} = "
            f"{spoken(unit_price * max_units, currency)}, not {spoken(amount, currency)}."
        )
    return None
