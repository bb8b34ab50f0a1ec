"""A match ratio as people write it, and as the ledger counts it.

A match pledge draws floor(contribution x ratio) of every later contribution by another
funder. People write the ratio as a decimal (`1.0`, `0.5`, `"1.5"`) or as matched to
contributed (`"1:1"`, `"1:2"`, which is 0.5); the store keeps whole basis points
(1.0 -> 10,000), so a ratio with at most four decimal places is exact and nothing is ever
rounded silently. Basis points are not a ratio: `10000` is above the maximum of 100, and the
message says what to write instead. Pure: no I/O, property-tested in tests/unit.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from app.domain.pledges.rules import BPS

MAX_MATCH_RATIO = Decimal(100)
MAX_RATIO_TEXT = 32
# A decimal ("1.5") or matched:contributed ("1:2"); digits are bounded so no text is costly.
RATIO_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,12})?(:[0-9]{1,12}(\.[0-9]{1,12})?)?$"
_RATIO_TEXT = re.compile(RATIO_PATTERN)
FORMS = 'a decimal such as 1.0 or "0.5", or matched:contributed such as "1:1" or "1:2"'


_KINDS = {list: "a list", dict: "an object", type(None): "null"}


class RatioError(ValueError):
    """A match ratio nobody can use; the message says what is allowed."""


def _as_fraction(value: object) -> Fraction:
    """The exact value of what was written, or RatioError if it is no ratio at all."""
    if isinstance(value, bool):
        raise RatioError(f"match_ratio is {FORMS}; got {str(value).lower()}.")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RatioError(f"match_ratio is {FORMS}; got {value}.")
        return Fraction(Decimal(repr(value)))  # 0.1 means 0.1, not its binary neighbour
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise RatioError(f"match_ratio is {FORMS}; got {value}.")
        return Fraction(value)
    if isinstance(value, str) and len(value) <= MAX_RATIO_TEXT and _RATIO_TEXT.match(value):
        matched, _, contributed = value.partition(":")
        try:
            numerator = Fraction(Decimal(matched))
            denominator = Fraction(Decimal(contributed)) if contributed else Fraction(1)
        except InvalidOperation:  # pragma: no cover - the pattern admits only digits
            raise RatioError(f"match_ratio is {FORMS}; got {value!r}.") from None
        if denominator == 0:
            raise RatioError(f'match_ratio "{value}" matches against nothing contributed.')
        return numerator / denominator
    shown = (
        f'"{value[:MAX_RATIO_TEXT]}"' if isinstance(value, str) else _KINDS.get(type(value), "that")
    )
    raise RatioError(f"match_ratio is {FORMS}; got {shown}.")


def parse_match_ratio(value: object) -> Decimal:
    """The ratio as an exact decimal of at most four places, above 0 and at most 100.

    Accepts a JSON number, a decimal string or "matched:contributed"; anything else, or a
    ratio out of range or finer than a basis point, is a RatioError saying why."""
    exact = _as_fraction(value)
    written = value if isinstance(value, str) else str(value)
    if not 0 < exact <= MAX_MATCH_RATIO:
        too_big = exact > MAX_MATCH_RATIO
        hint = " (basis points are not a ratio: 10000 bps is 1.0)" if too_big else ""
        raise RatioError(
            f"match_ratio must be above 0 and at most {MAX_MATCH_RATIO}: the money matched "
            f"per unit contributed{hint}; got {written}."
        )
    bps = exact * BPS
    if bps.denominator != 1:
        closest = Decimal(math.floor(bps)) / BPS
        nearest = f"the nearest below is {closest}" if closest else "the smallest is 0.0001"
        raise RatioError(
            f"match_ratio has at most 4 decimal places; {written} is not exact in them ({nearest})."
        )
    return Decimal(bps.numerator) / BPS


def ratio_bps(ratio: Decimal) -> int:
    """A parsed match ratio as whole basis points (1.0 -> 10,000)."""
    bps = Fraction(ratio) * BPS
    if bps.denominator != 1 or not 0 < bps <= MAX_MATCH_RATIO * BPS:
        raise RatioError(f"match_ratio {ratio} is not a ratio in whole basis points.")
    return bps.numerator
