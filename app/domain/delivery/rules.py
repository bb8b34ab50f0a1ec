"""Pure maths of delivery: outcome value and fraction, payout, splits. No I/O, no floats.

Values are exact fractions; money is integers. Every split uses the largest remainder
(`allocate_pro_rata`), so the parts always add up to the whole, to the cent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

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
    """Draw the payout from the escrows pro rata, split each pledge's draw among the members
    by share (so every payout is traceable to the pledges that funded it), and return the rest
    of each escrow to its pledge. Draws + returns = escrows; the splits add up to the draws."""
    held = sum(balance for _, balance in escrows)
    if not 0 <= payout <= held:
        raise ValueError(f"payout {payout} must be between 0 and the {held} escrowed")
    if sum(share for _, share in shares) != BPS:
        raise ValueError("member shares must sum to 10,000 basis points")
    draws = allocate_pro_rata(payout, list(escrows)) if held else {}
    by_pledge = {pledge: allocate_pro_rata(draw, list(shares)) for pledge, draw in draws.items()}
    splits = {member: sum(part[member] for part in by_pledge.values()) for member, _ in shares}
    returns = {pledge: balance - draws.get(pledge, 0) for pledge, balance in escrows}
    return PayoutPlan(draws=draws, by_pledge=by_pledge, splits=splits, returns=returns)


def rejection_limit(assigned: int, quorum: int) -> int:
    """How many rejections reject a claim: n - k + 1 (the quorum can no longer be reached)."""
    return assigned - quorum + 1
