"""The greatest fixed point over threshold and match pledges together, against a brute-force
model: the thresholds met are exactly the greatest set that can be met at once, counting
the match money that meeting them would draw (a funder never matching itself)."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.pledges.rules import (
    MatchPledge,
    ThresholdPledge,
    match_draw,
    match_draws,
    pool_with,
    threshold_fixed_point,
)

FUNDERS = ["a", "b", "c"]

thresholds = st.lists(
    st.builds(
        ThresholdPledge,
        pledge_id=st.uuids().map(str),
        amount=st.integers(1, 5_000),
        threshold=st.integers(1, 30_000),
        funder=st.sampled_from(FUNDERS),
    ),
    max_size=7,
    unique_by=lambda p: p.pledge_id,
)
matches = st.lists(
    st.builds(
        MatchPledge,
        pledge_id=st.uuids().map(str),
        funder=st.sampled_from(FUNDERS),
        ratio_bps=st.integers(1, 30_000),
        remaining=st.integers(0, 10_000),
    ),
    max_size=3,
    unique_by=lambda m: m.pledge_id,
)


def _brute_force(
    committed: int, pending: list[ThresholdPledge], offers: list[MatchPledge]
) -> set[str]:
    """The union of every subset of thresholds that can all be met together."""
    best: set[str] = set()
    for size in range(len(pending) + 1):
        for chosen in combinations(pending, size):
            pool = committed + sum(p.amount for p in chosen)
            for match in offers:
                wanted = sum(
                    match_draw(p.amount, match.ratio_bps, match.remaining)
                    for p in chosen
                    if p.funder != match.funder
                )
                pool += min(match.remaining, wanted)
            if all(p.threshold <= pool for p in chosen):
                best |= {p.pledge_id for p in chosen}
    return best


@settings(max_examples=300)
@given(committed=st.integers(0, 20_000), pending=thresholds, offers=matches)
def test_the_joint_fixed_point_is_the_greatest_set_met_together(
    committed: int, pending: list[ThresholdPledge], offers: list[MatchPledge]
) -> None:
    met = threshold_fixed_point(committed, pending, offers)
    assert met == _brute_force(committed, pending, offers)
    chosen = [p for p in pending if p.pledge_id in met]
    pool = pool_with(committed, chosen, offers)
    assert all(p.threshold <= pool for p in chosen)


@given(committed=st.integers(0, 20_000), pending=thresholds, offers=matches)
def test_match_money_is_conserved_and_never_exceeds_a_cap(
    committed: int, pending: list[ThresholdPledge], offers: list[MatchPledge]
) -> None:
    """The pool is exactly what came in: the committed money, the thresholds' amounts and
    what each match draws, each draw within its cap and nothing drawn on its own funder."""
    contributions = [(p.funder, p.amount) for p in pending]
    drawn = match_draws(contributions, offers)
    for match in offers:
        assert 0 <= drawn[match.pledge_id] <= match.remaining
        others = [(f, a) for f, a in contributions if f != match.funder]
        if not others:
            assert drawn[match.pledge_id] == 0
    assert pool_with(committed, pending, offers) == (
        committed + sum(p.amount for p in pending) + sum(drawn.values())
    )


@given(
    committed=st.integers(0, 20_000),
    extra=st.integers(0, 5_000),
    pending=thresholds,
    offers=matches,
)
def test_more_money_never_unmeets_a_threshold(
    committed: int, extra: int, pending: list[ThresholdPledge], offers: list[MatchPledge]
) -> None:
    assert threshold_fixed_point(committed, pending, offers) <= threshold_fixed_point(
        committed + extra, pending, offers
    )


def test_the_issues_example_is_met_only_by_counting_the_match() -> None:
    pending = [ThresholdPledge("t", 4_000_000, 6_000_000, "hopeful")]
    offer = [MatchPledge("m", "sponsor", 10_000, 2_000_000)]
    assert threshold_fixed_point(1_000_000, pending) == set()
    assert threshold_fixed_point(1_000_000, pending, offer) == {"t"}
    mine = [MatchPledge("m", "hopeful", 10_000, 2_000_000)]  # its own match does not count
    assert threshold_fixed_point(1_000_000, pending, mine) == set()
