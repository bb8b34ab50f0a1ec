"""Pure maths of verifier fees: how much fee escrow a milestone needs, and which pledges'
fee escrow pays (or returns) an amount. No I/O; every split is exact to the cent."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from app.domain.errors import invariant
from app.domain.pledges.rules import allocate_pro_rata


def fee_escrow_needed(fee: int, assigned: Iterable[str], paid: Iterable[str]) -> int:
    """The fee of every assigned verifier not paid yet: what must wait in fee escrow."""
    if fee < 0:
        raise ValueError("a verifier fee is never negative")
    return fee * len(set(assigned) - set(paid))


def draw(balances: Sequence[tuple[uuid.UUID, int]], amount: int) -> dict[uuid.UUID, int]:
    """`amount` from these (pledge, balance) positions pro rata (largest remainder, ties to
    the smaller id): never more than a position holds, always exactly the amount."""
    held = sum(balance for _, balance in balances)
    if not 0 <= amount <= held:
        raise ValueError(f"cannot draw {amount} from {held}")
    if amount == 0:
        return {}
    draws = allocate_pro_rata(amount, list(balances))
    invariant(sum(draws.values()) == amount, f"fee draws sum to {sum(draws.values())}")
    invariant(
        all(0 <= draws.get(pid, 0) <= balance for pid, balance in balances),
        "a fee draw exceeds its position",
    )
    return {pid: part for pid, part in sorted(draws.items()) if part > 0}
