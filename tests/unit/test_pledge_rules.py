"""Property tests of the pure pledge maths: thresholds, matching, pro-rata allocation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.challenges import rules as challenge_rules
from app.domain.pledges.rules import (
    ThresholdPledge,
    allocate_pro_rata,
    match_draw,
    threshold_fixed_point,
)

pledges = st.lists(
    st.builds(
        ThresholdPledge,
        pledge_id=st.uuids().map(str),
        amount=st.integers(1, 10_000),
        threshold=st.integers(1, 100_000),
    ),
    max_size=25,
    unique_by=lambda p: p.pledge_id,
)


def _is_fixed_point(committed: int, met: set[str], all_pledges: list[ThresholdPledge]) -> bool:
    total = committed + sum(p.amount for p in all_pledges if p.pledge_id in met)
    return all(p.threshold <= total for p in all_pledges if p.pledge_id in met)


@given(committed=st.integers(0, 100_000), pending=pledges, data=st.data())
def test_fixed_point_is_order_independent_and_self_consistent(
    committed: int, pending: list[ThresholdPledge], data: st.DataObject
) -> None:
    met = threshold_fixed_point(committed, pending)
    shuffled = data.draw(st.permutations(pending))
    assert threshold_fixed_point(committed, shuffled) == met
    assert _is_fixed_point(committed, met, pending)


@given(committed=st.integers(0, 100_000), pending=pledges, extra=st.integers(0, 50_000))
def test_fixed_point_is_monotone_in_committed_money(
    committed: int, pending: list[ThresholdPledge], extra: int
) -> None:
    assert threshold_fixed_point(committed, pending) <= threshold_fixed_point(
        committed + extra, pending
    )


@given(committed=st.integers(0, 100_000), pending=pledges, data=st.data())
def test_fixed_point_contains_every_set_that_could_be_met_together(
    committed: int, pending: list[ThresholdPledge], data: st.DataObject
) -> None:
    """The greatest fixed point: any self-consistent set of pledges is inside it."""
    met = threshold_fixed_point(committed, pending)
    chosen = (
        data.draw(st.sets(st.sampled_from([p.pledge_id for p in pending]))) if pending else set()
    )
    if _is_fixed_point(committed, chosen, pending):
        assert chosen <= met


def test_fixed_point_examples() -> None:
    a = ThresholdPledge("a", 500, 1_000)
    b = ThresholdPledge("b", 500, 1_000)
    c = ThresholdPledge("c", 100, 5_000)
    assert threshold_fixed_point(0, [a, b, c]) == {"a", "b"}
    assert threshold_fixed_point(0, [a, c]) == set()
    assert threshold_fixed_point(4_000, [a, b, c]) == {"a", "b", "c"}


@given(
    contribution=st.integers(0, 10**12),
    ratio_bps=st.integers(1, 100_000),
    cap=st.integers(0, 10**12),
)
def test_match_draw_is_capped_floor_of_the_ratio(
    contribution: int, ratio_bps: int, cap: int
) -> None:
    drawn = match_draw(contribution, ratio_bps, cap)
    assert 0 <= drawn <= cap
    assert drawn <= contribution * ratio_bps // 10_000
    assert drawn == min(cap, contribution * ratio_bps // 10_000)


@given(
    total=st.integers(0, 10**9),
    weights=st.lists(
        st.tuples(st.uuids().map(str), st.integers(0, 10**9)),
        min_size=1,
        max_size=30,
        unique_by=lambda item: item[0],
    ),
)
def test_pro_rata_allocation_is_exact_and_never_negative(
    total: int, weights: list[tuple[str, int]]
) -> None:
    if sum(w for _, w in weights) == 0 and total > 0:
        with pytest.raises(ValueError, match="zero weight"):
            allocate_pro_rata(total, weights)
        return
    shares = allocate_pro_rata(total, weights)
    assert sum(shares.values()) == total
    assert all(share >= 0 for share in shares.values())
    whole = sum(w for _, w in weights)
    if whole == 0:  # nothing to share by, and (above) nothing to share
        assert set(shares.values()) <= {0}
        return
    for key, weight in weights:
        assert abs(shares[key] * whole - total * weight) < whole  # within one unit
        if total <= whole:
            assert shares[key] <= weight


def test_pro_rata_ties_go_to_the_smallest_key() -> None:
    assert allocate_pro_rata(1, [("b", 1), ("a", 1)]) == {"a": 1, "b": 0}
    assert allocate_pro_rata(5, [("x", 1), ("y", 1), ("z", 1)]) == {"x": 2, "y": 2, "z": 1}


def test_there_are_169_sdg_targets() -> None:
    targets = challenge_rules.all_sdg_targets()
    assert len(targets) == 169
    assert {"6.1", "6.b", "17.19", "3.d"} <= targets
    assert not challenge_rules.is_sdg_target("6.7")
    assert not challenge_rules.is_sdg_target("18.1")
    assert not challenge_rules.is_sdg_target("6.1 ")


@pytest.mark.parametrize(
    ("code", "valid"),
    [("KE", True), ("KE-30", True), ("XX", False), ("ke", False), ("KE-999", False)],
)
def test_regions_are_iso_3166(code: str, valid: bool) -> None:
    assert challenge_rules.is_region(code) is valid
