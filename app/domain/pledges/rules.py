"""Pure maths of pledges: thresholds, matching, and pro-rata allocation. No I/O.

Everything here is integers (minor units, basis points) and fully property-tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from app.domain.errors import invariant

K = TypeVar("K")
BPS = 10_000


@dataclass(frozen=True, slots=True)
class ThresholdPledge:
    pledge_id: str
    amount: int
    threshold: int
    funder: str = ""


@dataclass(frozen=True, slots=True)
class MatchPledge:
    """A match pledge as new money sees it: who made it, its ratio, and its undrawn cap."""

    pledge_id: str
    funder: str
    ratio_bps: int
    remaining: int


def match_draws(
    contributions: Sequence[tuple[str, int]], matches: Sequence[MatchPledge]
) -> dict[str, int]:
    """What each match pledge draws on these (funder, amount) contributions: floor(amount x
    ratio) of each contribution by another funder (a funder never matches itself), capped by
    what is left undrawn. Drawing contribution by contribution gives the same totals, in any
    order: min(cap, sum of the draws)."""
    drawn = {}
    for match in matches:
        wanted = sum(
            match_draw(amount, match.ratio_bps, match.remaining)
            for funder, amount in contributions
            if funder != match.funder
        )
        drawn[match.pledge_id] = min(match.remaining, wanted)
    return drawn


def pool_with(
    committed: int, met: Sequence[ThresholdPledge], matches: Sequence[MatchPledge]
) -> int:
    """The challenge's pool if these thresholds were met together: the money committed, their
    amounts, and the match money their amounts would draw."""
    contributions = [(p.funder, p.amount) for p in met]
    drawn = match_draws(contributions, matches)
    return committed + sum(amount for _, amount in contributions) + sum(drawn.values())


def threshold_fixed_point(
    committed: int, pending: Sequence[ThresholdPledge], matches: Sequence[MatchPledge] = ()
) -> set[str]:
    """The threshold pledges that are met: the greatest fixed point (DESIGN.md), over
    threshold and match pledges together.

    Start with every pending threshold pledge; the pool is the committed money plus all
    their amounts plus the match money those amounts would draw; drop those whose threshold
    exceeds the pool; repeat until nothing drops. The survivors are met together: the
    greatest set of thresholds that can be met at once (the pool only grows with the set,
    so the union of all sets that can be met together can be too). The result does not
    depend on the order of `pending`, grows when `committed` grows (monotone), and is
    deterministic.
    """
    if committed < 0:
        raise ValueError("committed money cannot be negative")
    survivors = {p.pledge_id: p for p in pending}
    while True:
        total = pool_with(committed, list(survivors.values()), matches)
        keep = {pid: p for pid, p in survivors.items() if p.threshold <= total}
        if len(keep) == len(survivors):
            return set(keep)
        survivors = keep


def match_draw(contribution: int, ratio_bps: int, remaining_cap: int) -> int:
    """What a match pledge adds for one contribution: floor(contribution x ratio), capped."""
    if contribution < 0 or ratio_bps <= 0 or remaining_cap < 0:
        raise ValueError("contribution >= 0, ratio > 0 and cap >= 0 are required")
    return min(remaining_cap, contribution * ratio_bps // BPS)


def allocate_pro_rata(total: int, weights: Sequence[tuple[K, int]]) -> dict[K, int]:
    """Split `total` over keys in proportion to their weights, exactly (largest remainder).

    Every share is floor(total x w / W); the leftover units go one each to the largest
    remainders, ties broken by key order (e.g. pledge id). The shares sum to `total`, none is
    negative, and none exceeds its weight when total <= W.
    """
    if total < 0:
        raise ValueError("cannot allocate a negative amount")
    if any(weight < 0 for _, weight in weights):
        raise ValueError("weights cannot be negative")
    whole = sum(weight for _, weight in weights)
    if total == 0:
        return {key: 0 for key, _ in weights}
    if whole == 0:
        raise ValueError("cannot allocate over zero weight")
    shares = {key: total * weight // whole for key, weight in weights}
    leftover = total - sum(shares.values())
    by_remainder = sorted(
        weights,
        key=lambda item: (-(total * item[1] % whole), item[0]),
    )
    for key, _ in by_remainder[:leftover]:
        shares[key] += 1
    invariant(sum(shares.values()) == total, f"shares of {total} sum to {sum(shares.values())}")
    invariant(all(share >= 0 for share in shares.values()), "a share is negative")
    return shares
