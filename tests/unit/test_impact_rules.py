"""Property tests of the impact maths: exact attribution, rounding once."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.reports import impact_rules as rules

values = st.fractions(min_value=0, max_value=10**9).map(lambda v: v.limit_denominator(2))
amounts = st.integers(min_value=1, max_value=10**14)


def test_the_board_example_gives_90_units_at_2000_each() -> None:
    units = rules.attributable_units(verified_value=Fraction(150), paid=180_000, payout=300_000)
    assert units == 90
    assert rules.units_text(units) == "90"
    assert rules.cost_per_unit(paid=180_000, units=units) == 2_000


@given(values, st.lists(amounts, min_size=1, max_size=20))
def test_the_funders_units_add_up_to_the_verified_value_exactly(
    value: Fraction, paid: list[int]
) -> None:
    payout = sum(paid)
    shares = [rules.attributable_units(verified_value=value, paid=p, payout=payout) for p in paid]
    assert rules.total(shares) == value


@given(st.fractions(min_value=0, max_value=10**12))
def test_units_are_rounded_once_to_the_nearest_hundredth(units: Fraction) -> None:
    shown = Fraction(Decimal(rules.units_text(units)))
    assert abs(shown - units) <= Fraction(1, 200)
    assert shown * 100 == round(units * 100)  # half to even, on the exact value


@given(values.filter(lambda v: v > 0), amounts, amounts)
def test_cost_per_unit_is_the_same_for_every_funder_of_a_payout(
    value: Fraction, paid: int, other: int
) -> None:
    payout = paid + other
    units = rules.attributable_units(verified_value=value, paid=paid, payout=payout)
    assert rules.cost_per_unit(paid=paid, units=units) == round(Fraction(payout) / value)


def test_no_units_have_no_cost_per_unit() -> None:
    assert rules.cost_per_unit(paid=100, units=Fraction(0)) is None
    assert rules.units_text(Fraction(0)) == "0"
    assert rules.units_text(Fraction(1, 3)) == "0.33"
    assert rules.units_text(Fraction(1, 8)) == "0.12"  # 0.125: half to even
    assert rules.exact_text(Fraction(100, 3)) == "100/3"


@pytest.mark.parametrize(("paid", "payout"), [(-1, 10), (11, 10), (0, 0)])
def test_impossible_shares_are_refused(paid: int, payout: int) -> None:
    with pytest.raises(ValueError, match="paid <= payout"):
        rules.attributable_units(verified_value=Fraction(1), paid=paid, payout=payout)
