"""Pure maths of delivery: outcome value and fraction, payout, splits. No I/O, no floats.

Values are exact fractions; money is integers. Every split uses the largest remainder
(`allocate_pro_rata`), so the parts always add up to the whole, to the cent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from app.domain.errors import invariant
from app.domain.pledges.rules import BPS, allocate_pro_rata


def median(values: Sequence[int]) -> Fraction:
    """The median of the approvers' measured values (the mean of the middle two if even)."""
    if not values:
        raise ValueError("the median of no values is undefined")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Fraction(ordered[middle])
    return Fraction(ordered[middle - 1] + ordered[middle], 2)


def outcome_fraction(rule: str, value: Fraction, target: int) -> Fraction:
    """min(1, value / target) for pro_rata; 1 if the target is reached else 0 for binary."""
    if target <= 0 or value < 0:
        raise ValueError("target must be positive and value non-negative")
    if rule == "binary":
        return Fraction(1) if value >= target else Fraction(0)
    if rule == "pro_rata":
        return min(Fraction(1), value / target)
    raise ValueError(f"unknown payout rule {rule!r}")


def payout_amount(award: int, fraction: Fraction) -> int:
    """floor(award x fraction): never more than the award, never a fraction of a cent."""
    if not 0 <= fraction <= 1 or award < 0:
        raise ValueError("0 <= fraction <= 1 and a non-negative award are required")
    return award * fraction.numerator // fraction.denominator


@dataclass(frozen=True)
class PayoutPlan:
    draws: dict[uuid.UUID, int]  # per pledge escrow: paid out of it
    by_pledge: dict[uuid.UUID, dict[uuid.UUID, int]]  # per pledge: what each member got of it
    splits: dict[uuid.UUID, int]  # per swarm member: paid to it in all
    returns: dict[uuid.UUID, int]  # per pledge escrow: back to the pledge


def plan_payout(
    escrows: Sequence[tuple[uuid.UUID, int]], shares: Sequence[tuple[uuid.UUID, int]], payout: int
) -> PayoutPlan:
    """Split the payout among the members by share (exactly their share of the whole, by
    largest remainder), draw it from the escrows pro rata, and say which pledge paid which
    member how much (so every payout is traceable to the pledges that funded it). The rest of
    each escrow returns to its pledge. Draws + returns = escrows; both margins are exact."""
    held = sum(balance for _, balance in escrows)
    if not 0 <= payout <= held:
        raise ValueError(f"payout {payout} must be between 0 and the {held} escrowed")
    if sum(share for _, share in shares) != BPS:
        raise ValueError("member shares must sum to 10,000 basis points")
    draws = allocate_pro_rata(payout, list(escrows)) if held else {}
    splits = allocate_pro_rata(payout, list(shares))
    returns = {pledge: balance - draws.get(pledge, 0) for pledge, balance in escrows}
    invariant(sum(splits.values()) == payout, f"splits sum to {sum(splits.values())}")
    invariant(
        sum(draws.values()) + sum(returns.values()) == held,
        "draws and returns do not add up to the escrow",
    )
    invariant(all(amount >= 0 for amount in returns.values()), "a return is negative")
    return PayoutPlan(
        draws=draws, by_pledge=member_parts(draws, splits), splits=splits, returns=returns
    )


def member_parts(
    draws: dict[uuid.UUID, int], splits: dict[uuid.UUID, int]
) -> dict[uuid.UUID, dict[uuid.UUID, int]]:
    """Which pledge's draw paid which member: a matrix whose rows sum to the draws and whose
    columns sum to the splits (the two must have the same total).

    Pledges in id order each split their draw pro rata to what every member is still owed,
    so each row is close to the members' shares and the last row settles the rest exactly.
    A part never exceeds what its member is still owed, so no part is negative.
    """
    if sum(draws.values()) != sum(splits.values()):
        raise ValueError("draws and splits must have the same total")
    owed = dict(splits)
    parts: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
    for pledge in sorted(draws):
        row = allocate_pro_rata(draws[pledge], sorted(owed.items()))
        for member, amount in row.items():
            owed[member] -= amount
        parts[pledge] = row
    invariant(all(amount == 0 for amount in owed.values()), "a member's parts miss its split")
    return parts


def rejection_limit(assigned: int, quorum: int) -> int:
    """How many rejections reject a claim: n - k + 1 (the quorum can no longer be reached)."""
    return assigned - quorum + 1
