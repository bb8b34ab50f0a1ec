"""Pure maths of benchmarks: cost per unit and percentiles, in integer minor units.

Cost per unit of a paid milestone = floor(payout / verified value). Percentiles interpolate
linearly between the closest ranks (Hyndman & Fan's type 7, the default of R, NumPy and
spreadsheets): over n sorted values, the p-th percentile sits at rank h = (n - 1) x p,
x[floor h] + (h - floor h) x (x[floor h + 1] - x[floor h]), computed exactly and then
rounded down to the minor unit. So the median of an even count is the mean of the middle
two, rounded down, and every percentile lies between the smallest and largest value.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

P25 = Fraction(1, 4)
MEDIAN = Fraction(1, 2)
P75 = Fraction(3, 4)


def cost_per_unit(payout: int, value: Fraction) -> int:
    """floor(payout / verified value), in minor units; the value must be positive."""
    if value <= 0 or payout < 0:
        raise ValueError("a cost per unit needs a positive value and a non-negative payout")
    quotient = Fraction(payout) / value
    return quotient.numerator // quotient.denominator


def percentile(values: Sequence[int], p: Fraction) -> int:
    """The p-th percentile (0 <= p <= 1) of the values by linear interpolation (type 7),
    rounded down."""
    if not values:
        raise ValueError("the percentile of no values is undefined")
    if not 0 <= p <= 1:
        raise ValueError("p must be between 0 and 1")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p
    low = rank.numerator // rank.denominator
    if low + 1 >= len(ordered):
        return ordered[low]
    exact = ordered[low] + (rank - low) * (ordered[low + 1] - ordered[low])
    return exact.numerator // exact.denominator
