"""Pure maths of the impact report: which verified units a funder's money bought, and at
what cost per unit. No I/O, no floats.

A milestone's payout bought its verified value; a funder whose pledges paid `paid` of a
payout of `payout` minor units is attributed exactly `value x paid / payout` units (a
`Fraction`), so the shares of all funders add up to the verified value exactly.

Each figure is rounded once, from the exact fraction, never from another rounded figure:
- `units` to UNIT_PLACES decimal places, half to even, shown as decimal text without
  trailing zeros ("90", "33.33");
- `cost_per_unit` = paid / exact units, to whole minor units, half to even (None when no
  unit was attributed). Because the units are proportional to the money, it equals the
  milestone's payout / verified value for every funder of that milestone.
Totals add the exact fractions first and round the sum once.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

UNIT_PLACES = 2
_QUANTUM = Decimal(1).scaleb(-UNIT_PLACES)


def attributable_units(*, verified_value: Fraction, paid: int, payout: int) -> Fraction:
    """The exact share of the verified value that `paid` of `payout` bought."""
    if payout <= 0 or not 0 <= paid <= payout or verified_value < 0:
        raise ValueError("need 0 <= paid <= payout, payout > 0 and a non-negative value")
    return verified_value * Fraction(paid, payout)


def round_half_even(value: Fraction) -> int:
    """The nearest integer; a tie goes to the even one (Python's round on a Fraction)."""
    return round(value)


def units_text(units: Fraction) -> str:
    """The units rounded once to UNIT_PLACES places, half to even, as plain decimal text."""
    scaled = round_half_even(units * 10**UNIT_PLACES)
    shown = (Decimal(scaled).scaleb(-UNIT_PLACES)).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
    text = format(shown.normalize(), "f")
    return "0" if text in ("-0", "") else text


def cost_per_unit(*, paid: int, units: Fraction) -> int | None:
    """Minor units paid per unit, from the exact units, rounded once (half to even)."""
    if units <= 0:
        return None
    return round_half_even(Fraction(paid) / units)


def exact_text(value: Fraction) -> str:
    """The exact fraction as text an auditor can recompute: "90" or "100/3"."""
    return str(value.numerator) if value.denominator == 1 else f"{value}"


def total(values: Iterable[Fraction]) -> Fraction:
    return sum(values, Fraction(0))
