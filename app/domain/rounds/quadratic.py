"""Quadratic funding with a floor, exact to the cent. Pure integers, no I/O, no floats.

A round's matching pool is divided among the challenges that drew at least one contribution
(the eligible ones, k of them):

- the floor: floor_bps / 10,000 of the pool, in equal parts, one per eligible challenge;
- the rest, in proportion to each challenge's weight (sum over its funders of sqrt(total))^2
  minus the sum of the totals, i.e. 2 x sum over pairs of funders of sqrt(t_f x t_g): zero
  for a challenge with one funder, growing with every funder and every contribution;
- if every weight is zero (each eligible challenge has a single funder) the rest is split
  equally among the eligible challenges, like the floor: no challenge did better than
  another at drawing a crowd, so none is preferred;
- no eligible challenge: nothing is divided, the whole pool goes back to the sponsor.

Both parts are added as exact rational quotas (summing to the pool) and rounded once by the
largest remainder, ties broken by challenge id, so the shares always sum to the pool exactly
and each eligible challenge gets at least floor(pool x floor_bps / 10,000 / k).

Square roots of integers are irrational, so the weight is defined with every sqrt(t_f)
truncated to 1/Q of a minor unit, Q = 2^66 (integer square root, exact and deterministic):

    r_f = isqrt(Q^2 x t_f)   (= floor(Q x sqrt(t_f)))
    weight = max(0, (sum r_f)^2 - Q^2 x sum t_f)          (in units of 1/Q^2)

When every total is a perfect square this is exactly Q^2 times the real weight. Otherwise
each r_f is less than 1 short, so the weight is off by less than 2 x n x sum sqrt(t_f) / Q
minor units for n funders: three millionths of a cent for 10,000 funders of 10^12 each. The
choice of Q keeps the weight monotone: raising one funder's total t (<= M) by delta >= 1
changes it by more than 2Q(Q - 1)(sqrt(t + delta) - sqrt(t)) - Q(sqrt(t) + sqrt(t + delta) + 2),
which is >= 0 whenever Q >= 4M; totals are bounded by M = 2^63 (a ledger balance is a signed
64-bit integer), hence Q = 2^66. A monotone weight gives a monotone match (largest remainder
never takes a unit from a quota that grows while all the others shrink).
"""

from __future__ import annotations

from collections.abc import Mapping
from math import isqrt

from app.domain.errors import invariant
from app.domain.pledges.rules import BPS, allocate_pro_rata

SQRT_SCALE = 1 << 66
MAX_FUNDER_TOTAL = (1 << 63) - 1


def qf_weight(funder_totals: Mapping[str, int] | list[int]) -> int:
    """The quadratic-funding weight of one challenge, in units of 1/Q^2 (see module doc).

    Accepts each funder's total contribution (zero totals are ignored: not a funder)."""
    totals = list(funder_totals.values()) if isinstance(funder_totals, Mapping) else funder_totals
    if any(total < 0 or total > MAX_FUNDER_TOTAL for total in totals):
        raise ValueError("a funder's total must be between 0 and 2^63 - 1 minor units")
    square = SQRT_SCALE * SQRT_SCALE
    roots = sum(isqrt(square * total) for total in totals if total > 0)
    return max(0, roots * roots - square * sum(totals))


def quadratic_match(
    pool: int, floor_bps: int, contributions: Mapping[str, Mapping[str, int]]
) -> dict[str, int]:
    """Each challenge's match: challenge id -> {funder id -> total} in, challenge id -> minor
    units out (every listed challenge, zero for the ineligible ones).

    The shares sum to the pool when any challenge is eligible, else to zero (the caller
    returns what is not placed to the sponsor)."""
    if pool < 0:
        raise ValueError("the matching pool cannot be negative")
    if not 0 <= floor_bps <= BPS:
        raise ValueError("floor_bps must be between 0 and 10,000")
    matches = {challenge_id: 0 for challenge_id in contributions}
    weights = {
        challenge_id: qf_weight(dict(funders))
        for challenge_id, funders in contributions.items()
        if any(total > 0 for total in funders.values())
    }
    if not weights or pool == 0:
        return matches
    matches.update(allocate_pro_rata(pool, sorted(_quota_weights(floor_bps, weights).items())))
    invariant(sum(matches.values()) == pool, f"round shares sum to {sum(matches.values())}")
    return matches


def _quota_weights(floor_bps: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Integer weights proportional to each eligible challenge's exact quota.

    quota_c = pool x [floor_bps / (BPS x k) + (BPS - floor_bps) / BPS x w_c / W]
            = pool x (floor_bps x W + k x (BPS - floor_bps) x w_c) / (BPS x k x W)
    When W = 0 the rest is split equally too, so every quota is pool / k."""
    whole = sum(weights.values())
    eligible = len(weights)
    if whole == 0:
        return {challenge_id: 1 for challenge_id in weights}
    return {
        challenge_id: floor_bps * whole + eligible * (BPS - floor_bps) * weight
        for challenge_id, weight in weights.items()
    }


def floor_share(pool: int, floor_bps: int, eligible: int) -> int:
    """The least each eligible challenge is guaranteed: floor(pool x floor_bps / BPS / k)."""
    if eligible <= 0:
        return 0
    return pool * floor_bps // (BPS * eligible)
