"""Property tests: payouts split and return exactly, whatever the shares, escrows, outcome."""

from __future__ import annotations

import uuid
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.delivery.rules import (
    median,
    outcome_fraction,
    payout_amount,
    plan_payout,
    rejection_limit,
)
from app.domain.pledges.rules import allocate_pro_rata


@st.composite
def shares(draw: st.DrawFn) -> list[tuple[uuid.UUID, int]]:
    count = draw(st.integers(1, 8))
    cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 10_000]
    return [(uuid.uuid4(), bounds[i + 1] - bounds[i]) for i in range(count)]


escrows = st.lists(
    st.tuples(st.uuids(), st.integers(0, 10**9)), min_size=1, max_size=20, unique_by=lambda e: e[0]
)


@given(
    escrow=escrows,
    members=shares(),
    value=st.integers(0, 10**6),
    target=st.integers(1, 10**6),
    rule=st.sampled_from(["pro_rata", "binary"]),
)
def test_payout_splits_and_returns_sum_exactly_to_the_escrow(
    escrow: list[tuple[uuid.UUID, int]],
    members: list[tuple[uuid.UUID, int]],
    value: int,
    target: int,
    rule: str,
) -> None:
    held = sum(balance for _, balance in escrow)
    payout = payout_amount(held, outcome_fraction(rule, Fraction(value), target))
    plan = plan_payout(escrow, members, payout)
    assert sum(plan.splits.values()) == payout
    assert sum(plan.draws.values()) == payout if held else payout == 0
    for pledge, balance in escrow:
        assert plan.draws.get(pledge, 0) + plan.returns[pledge] == balance
        assert plan.draws.get(pledge, 0) >= 0
        assert plan.returns[pledge] >= 0
    assert all(amount >= 0 for amount in plan.splits.values())
    assert plan.splits == allocate_pro_rata(payout, members)  # exactly their shares
    for pledge, parts in plan.by_pledge.items():
        assert sum(parts.values()) == plan.draws[pledge]
        assert all(part >= 0 for part in parts.values())
    for member, _ in members:
        assert sum(parts[member] for parts in plan.by_pledge.values()) == plan.splits[member]
    assert sum(plan.returns.values()) == held - payout


def test_a_sixty_forty_swarm_gets_exactly_sixty_forty_of_a_payout_from_many_pledges() -> None:
    lead, partner = uuid.UUID(int=1), uuid.UUID(int=2)
    escrow = [(uuid.UUID(int=10 + i), balance) for i, balance in enumerate((333, 333, 334, 7))]
    plan = plan_payout(escrow, [(lead, 6_000), (partner, 4_000)], 1_005)
    assert plan.splits == {lead: 603, partner: 402}


@given(award=st.integers(0, 10**12), value=st.integers(0, 10**7), target=st.integers(1, 10**7))
def test_pro_rata_fraction_is_capped_at_one_and_payout_never_exceeds_the_award(
    award: int, value: int, target: int
) -> None:
    fraction = outcome_fraction("pro_rata", Fraction(value), target)
    assert 0 <= fraction <= 1
    paid = payout_amount(award, fraction)
    assert 0 <= paid <= award
    if value >= target:
        assert paid == award


def test_binary_pays_all_or_nothing() -> None:
    assert outcome_fraction("binary", Fraction(99), 100) == 0
    assert outcome_fraction("binary", Fraction(100), 100) == 1


def test_median_of_even_counts_is_the_mean_of_the_middle_two() -> None:
    assert median([30, 10, 20]) == 20
    assert median([10, 25]) == Fraction(35, 2)
    with pytest.raises(ValueError, match="undefined"):
        median([])


def test_shares_must_sum_to_ten_thousand() -> None:
    with pytest.raises(ValueError, match="10,000"):
        plan_payout([(uuid.uuid4(), 10)], [(uuid.uuid4(), 9_999)], 5)


def test_rejection_limit_is_n_minus_k_plus_one() -> None:
    assert rejection_limit(3, 2) == 2
    assert rejection_limit(5, 5) == 1
