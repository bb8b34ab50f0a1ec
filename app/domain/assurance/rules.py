"""Pure maths of the assurance bonus. No I/O, integers only.

A threshold pledge released because its deadline passed unmet earns its funder
min(remaining, floor(pledge amount x bonus_bps / 10,000)) from each bonus on the challenge:
the rate is the sponsor's promise, the remaining escrow its limit, so a bonus never pays
more than was escrowed and pays in full for as long as it lasts.
"""

from __future__ import annotations

BPS = 10_000
MIN_BONUS_BPS = 1
MAX_BONUS_BPS = 10_000  # a bonus of the whole pledge: more would pay pledgers to fail


def bonus_for(pledge_amount: int, bonus_bps: int, remaining: int) -> int:
    """What one released pledge earns from one bonus: its rate, capped by what is left."""
    if pledge_amount < 0 or remaining < 0:
        raise ValueError("amounts must be non-negative")
    if not MIN_BONUS_BPS <= bonus_bps <= MAX_BONUS_BPS:
        raise ValueError(f"bonus_bps must be {MIN_BONUS_BPS} to {MAX_BONUS_BPS}")
    return min(remaining, pledge_amount * bonus_bps // BPS)
