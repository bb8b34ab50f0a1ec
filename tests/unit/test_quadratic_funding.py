"""Property tests of the quadratic-funding split of a matching round (app.domain.rounds)."""

from __future__ import annotations

import itertools
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.rounds.quadratic import (
    MAX_FUNDER_TOTAL,
    SQRT_SCALE,
    floor_share,
    qf_weight,
    quadratic_match,
)

CHALLENGES = ["a", "b", "c", "d"]
FUNDERS = ["f1", "f2", "f3", "f4", "f5"]

funder_totals = st.dictionaries(st.sampled_from(FUNDERS), st.integers(0, 10**12), max_size=5)
contributions = st.dictionaries(st.sampled_from(CHALLENGES), funder_totals, max_size=4)
pools = st.integers(0, 10**13)
floors = st.integers(0, 10_000)


def _eligible(given_contributions: dict[str, dict[str, int]]) -> list[str]:
    return [c for c, funders in given_contributions.items() if any(funders.values())]


def test_the_issue_example_gives_a_ninety_thousand_and_b_ten_thousand() -> None:
    """A 100,000 round with a 20% floor; A has four funders x 2,500, B one funder x 10,000."""
    shares = quadratic_match(
        100_000,
        2_000,
        {"A": {"o1": 2_500, "o2": 2_500, "o3": 2_500, "o4": 2_500}, "B": {"o5": 10_000}},
    )
    assert shares == {"A": 90_000, "B": 10_000}


def test_single_funder_challenges_split_the_rest_equally() -> None:
    shares = quadratic_match(1_001, 0, {"a": {"x": 5}, "b": {"y": 900}, "c": {"z": 1}})
    assert shares == {"a": 334, "b": 334, "c": 333}


def test_no_contribution_means_nothing_is_placed() -> None:
    assert quadratic_match(5_000, 2_000, {"a": {}, "b": {"x": 0}}) == {"a": 0, "b": 0}


def test_a_challenge_without_contributions_gets_nothing_even_from_the_floor() -> None:
    shares = quadratic_match(10_000, 5_000, {"a": {"x": 4, "y": 9}, "b": {}})
    assert shares == {"a": 10_000, "b": 0}


def test_weights_of_perfect_squares_are_exact() -> None:
    # (2 + 3 + 4)^2 - (4 + 9 + 16) = 52
    assert qf_weight({"x": 4, "y": 9, "z": 16}) == 52 * SQRT_SCALE**2
    assert qf_weight({"x": 10**12}) == 0


@pytest.mark.parametrize(
    ("pool", "floor_bps", "message"),
    [(-1, 0, "negative"), (10, -1, "floor_bps"), (10, 10_001, "floor_bps")],
)
def test_bad_arguments_are_refused(pool: int, floor_bps: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        quadratic_match(pool, floor_bps, {"a": {"x": 1}})


def test_a_total_beyond_a_ledger_balance_is_refused() -> None:
    with pytest.raises(ValueError, match="2\\^63"):
        qf_weight({"x": MAX_FUNDER_TOTAL + 1})


@given(pool=pools, floor_bps=floors, given_contributions=contributions)
def test_the_pool_is_conserved_to_the_cent(
    pool: int, floor_bps: int, given_contributions: dict[str, dict[str, int]]
) -> None:
    shares = quadratic_match(pool, floor_bps, given_contributions)
    assert set(shares) == set(given_contributions)
    assert all(share >= 0 for share in shares.values())
    placed = sum(shares.values())
    assert placed == (pool if _eligible(given_contributions) else 0)


@given(pool=pools, floor_bps=floors, given_contributions=contributions)
def test_every_eligible_challenge_gets_at_least_its_floor_and_others_nothing(
    pool: int, floor_bps: int, given_contributions: dict[str, dict[str, int]]
) -> None:
    shares = quadratic_match(pool, floor_bps, given_contributions)
    eligible = _eligible(given_contributions)
    least = floor_share(pool, floor_bps, len(eligible))
    for challenge_id, share in shares.items():
        if challenge_id in eligible:
            assert share >= least
        else:
            assert share == 0


@given(
    pool=pools,
    floor_bps=floors,
    given_contributions=contributions,
    data=st.data(),
    extra=st.integers(1, 10**12),
)
def test_a_challenge_match_never_falls_when_one_of_its_contributions_grows(
    pool: int,
    floor_bps: int,
    given_contributions: dict[str, dict[str, int]],
    data: st.DataObject,
    extra: int,
) -> None:
    challenge_id = data.draw(st.sampled_from(CHALLENGES))
    funder_id = data.draw(st.sampled_from(FUNDERS))
    before = quadratic_match(pool, floor_bps, given_contributions)
    grown = {c: dict(funders) for c, funders in given_contributions.items()}
    funders = grown.setdefault(challenge_id, {})
    was_eligible = any(funders.values())
    funders[funder_id] = funders.get(funder_id, 0) + extra
    after = quadratic_match(pool, floor_bps, grown)
    if was_eligible:
        assert after[challenge_id] >= before[challenge_id]


@given(
    totals=st.lists(st.integers(1, 10**15), min_size=2, max_size=6),
    index=st.integers(0, 5),
    extra=st.integers(1, 10**6),
)
def test_the_weight_grows_strictly_with_any_contribution_of_a_crowd(
    totals: list[int], index: int, extra: int
) -> None:
    index %= len(totals)
    grown = list(totals)
    grown[index] += extra
    assert qf_weight(grown) > qf_weight(totals) > 0


@given(totals=st.lists(st.integers(1, 10**12), min_size=1, max_size=8))
def test_the_weight_is_the_real_weight_within_a_millionth_of_a_cent(totals: list[int]) -> None:
    with localcontext() as context:
        context.prec = 80
        roots = sum(Decimal(total).sqrt() for total in totals)
        real = roots * roots - sum(totals)
        computed = Decimal(qf_weight(totals)) / Decimal(SQRT_SCALE) ** 2
        assert abs(computed - real) < Decimal("0.000001")


def _brute_force(pool: int, floor_bps: int, roots: dict[str, list[int]]) -> dict[str, int]:
    """The model, with each funder's total the square of an integer so that every weight is
    an exact integer: the exact quotas, then of all integer splits of the pool the one
    nearest them (sum of squared differences), ties to the smaller challenge id."""
    eligible = sorted(c for c, rs in roots.items() if any(rs))
    shares = {c: 0 for c in roots}
    if not eligible:
        return shares
    weights = {c: sum(roots[c]) ** 2 - sum(r * r for r in roots[c]) for c in eligible}
    whole = sum(weights.values())
    floor_part = Fraction(pool * floor_bps, 10_000)
    rest = pool - floor_part
    quotas = {
        c: floor_part / len(eligible)
        + (rest * weights[c] / whole if whole else rest / len(eligible))
        for c in eligible
    }
    best = min(
        (
            (*head, pool - sum(head))
            for head in itertools.product(range(pool + 1), repeat=len(eligible) - 1)
            if sum(head) <= pool
        ),
        key=lambda split: (
            sum((s - quotas[c]) ** 2 for s, c in zip(split, eligible, strict=True)),
            tuple(-s for s in split),
        ),
    )
    shares.update(dict(zip(eligible, best, strict=True)))
    return shares


@settings(max_examples=150)
@given(
    pool=st.integers(0, 40),
    floor_bps=floors,
    roots=st.dictionaries(
        st.sampled_from(CHALLENGES[:3]), st.lists(st.integers(0, 6), max_size=4), max_size=3
    ),
)
def test_the_split_equals_a_brute_force_model_on_small_inputs(
    pool: int, floor_bps: int, roots: dict[str, list[int]]
) -> None:
    given_contributions = {c: {f"f{i}": r * r for i, r in enumerate(rs)} for c, rs in roots.items()}
    assert quadratic_match(pool, floor_bps, given_contributions) == _brute_force(
        pool, floor_bps, roots
    )


def test_identical_challenges_tie_to_the_smaller_id() -> None:
    same = {"x": 4, "y": 9}
    assert quadratic_match(10_001, 0, {"b": same, "a": same}) == {"a": 5_001, "b": 5_000}


@given(pool=pools, floor_bps=floors, given_contributions=contributions, data=st.data())
def test_the_split_does_not_depend_on_the_order_of_the_input(
    pool: int,
    floor_bps: int,
    given_contributions: dict[str, dict[str, int]],
    data: st.DataObject,
) -> None:
    shuffled = dict(data.draw(st.permutations(list(given_contributions.items()))))
    assert quadratic_match(pool, floor_bps, shuffled) == quadratic_match(
        pool, floor_bps, given_contributions
    )
