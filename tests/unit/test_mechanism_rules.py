"""Property tests: the assurance bonus, per-unit payouts and benchmark percentiles."""

from __future__ import annotations

import statistics
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.assurance.rules import bonus_for
from app.domain.benchmarks.rules import MEDIAN, P25, P75, cost_per_unit, percentile
from app.domain.delivery.per_unit import per_unit_amount, per_unit_fraction, per_unit_payout
from app.domain.delivery.rules import median, payout_amount

amounts = st.integers(0, 10**14)
bps = st.integers(1, 10_000)
# A verified value is the median of integer measurements: an integer or a half.
values = st.builds(
    lambda n, half: Fraction(n) + (Fraction(1, 2) if half else 0),
    st.integers(0, 10**6),
    st.booleans(),
)


def test_the_issue_numbers_pay_7500_and_2500_from_a_100000_bonus_at_250_bps() -> None:
    first = bonus_for(300_000, 250, 100_000)
    second = bonus_for(100_000, 250, 100_000 - first)
    assert (first, second, 100_000 - first - second) == (7_500, 2_500, 90_000)


@given(amount=amounts, rate=bps, remaining=amounts)
def test_a_bonus_is_the_rate_capped_by_what_remains(amount: int, rate: int, remaining: int) -> None:
    paid = bonus_for(amount, rate, remaining)
    assert 0 <= paid <= remaining
    assert paid <= amount  # at most 10,000 bps: never more than the pledge
    assert paid == remaining or paid * 10_000 <= amount * rate < (paid + 1) * 10_000


@given(pledges=st.lists(amounts, max_size=30), rate=bps, escrowed=amounts)
def test_bonuses_paid_in_turn_never_exceed_the_escrow(
    pledges: list[int], rate: int, escrowed: int
) -> None:
    remaining = escrowed
    for amount in pledges:
        remaining -= bonus_for(amount, rate, remaining)
        assert remaining >= 0


@pytest.mark.parametrize("rate", [0, -1, 10_001])
def test_a_rate_outside_1_to_10000_bps_is_refused(rate: int) -> None:
    with pytest.raises(ValueError, match="bonus_bps must be 1 to 10000"):
        bonus_for(100, rate, 100)


def test_the_issue_numbers_pay_420000_for_700_of_1000_units_at_600() -> None:
    assert per_unit_amount(600, 1_000) == 600_000
    assert per_unit_payout(600, 1_000, Fraction(700)) == 420_000
    assert per_unit_payout(600, 1_000, Fraction(1_500)) == 600_000


@given(price=st.integers(1, 10**7), units=st.integers(1, 10**7), value=values)
def test_per_unit_payout_is_the_escrow_times_its_fraction_and_never_more(
    price: int, units: int, value: Fraction
) -> None:
    escrow = per_unit_amount(price, units)
    paid = per_unit_payout(price, units, value)
    assert paid == payout_amount(escrow, per_unit_fraction(value, units))
    assert 0 <= paid <= escrow
    exact = price * min(value, units)
    assert paid <= exact < paid + 1


@given(price=st.integers(1, 10**6), units=st.integers(1, 10**6), a=values, b=values)
def test_per_unit_payout_is_monotone_in_the_verified_value(
    price: int, units: int, a: Fraction, b: Fraction
) -> None:
    low, high = sorted((a, b))
    assert per_unit_payout(price, units, low) <= per_unit_payout(price, units, high)


def test_percentiles_interpolate_linearly_and_round_down() -> None:
    assert percentile([600], MEDIAN) == 600
    assert percentile([1, 2, 3, 4], MEDIAN) == 2  # 2.5 rounded down
    assert percentile([10, 20, 30, 40, 50], P25) == 20
    assert percentile([10, 20, 30, 40], P25) == 17  # 17.5
    assert percentile([10, 20, 30, 40], P75) == 32  # 32.5


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=40))
def test_percentiles_are_ordered_within_the_range_and_match_statistics(xs: list[int]) -> None:
    p25, p50, p75 = (percentile(xs, p) for p in (P25, MEDIAN, P75))
    assert min(xs) <= p25 <= p50 <= p75 <= max(xs)
    assert p50 == int(median(xs))  # the same median that verification uses, rounded down
    if len(xs) >= 2:
        exact = statistics.quantiles([Fraction(x) for x in xs], n=4, method="inclusive")
        assert [p25, p50, p75] == [int(q // 1) for q in exact]


@given(payout=st.integers(0, 10**14), value=values.filter(lambda v: v > 0))
def test_cost_per_unit_rounds_down(payout: int, value: Fraction) -> None:
    cost = cost_per_unit(payout, value)
    assert cost * value <= payout < (cost + 1) * value


def test_cost_per_unit_of_the_issue_is_600() -> None:
    assert cost_per_unit(420_000, Fraction(700)) == 600
    with pytest.raises(ValueError, match="positive value"):
        cost_per_unit(1, Fraction(0))
