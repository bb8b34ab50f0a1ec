"""Property tests: verifier fees are escrowed for exactly the unpaid assigned verifiers, and
every fee draw takes exactly its amount without overdrawing any pledge's position."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.delivery.fee_rules import draw, fee_escrow_needed

positions = st.lists(
    st.tuples(st.uuids(), st.integers(0, 10**12)), min_size=1, max_size=20, unique_by=lambda p: p[0]
)
orgs = st.lists(st.sampled_from([str(uuid.UUID(int=n)) for n in range(8)]), max_size=8)


@given(positions, st.data())
def test_a_draw_takes_exactly_the_amount_and_never_overdraws(
    balances: list[tuple[uuid.UUID, int]], data: st.DataObject
) -> None:
    held = sum(balance for _, balance in balances)
    amount = data.draw(st.integers(0, held))
    draws = draw(balances, amount)
    assert sum(draws.values()) == amount
    limits = dict(balances)
    assert all(0 < part <= limits[pid] for pid, part in draws.items())


@given(positions)
def test_drawing_everything_empties_every_position(balances: list[tuple[uuid.UUID, int]]) -> None:
    held = sum(balance for _, balance in balances)
    draws = draw(balances, held)
    assert all(draws.get(pid, 0) == balance for pid, balance in balances)


@given(positions)
def test_a_draw_beyond_the_positions_is_refused(balances: list[tuple[uuid.UUID, int]]) -> None:
    with pytest.raises(ValueError, match="cannot draw"):
        draw(balances, sum(balance for _, balance in balances) + 1)


@given(st.integers(0, 10**9), orgs, orgs)
def test_fee_escrow_covers_exactly_the_assigned_verifiers_not_yet_paid(
    fee: int, assigned: list[str], paid: list[str]
) -> None:
    needed = fee_escrow_needed(fee, assigned, paid)
    assert needed == fee * len(set(assigned) - set(paid))
    assert fee_escrow_needed(fee, assigned, assigned) == 0
    assert needed <= fee_escrow_needed(fee, assigned, [])


def test_a_negative_fee_is_refused() -> None:
    with pytest.raises(ValueError, match="never negative"):
        fee_escrow_needed(-1, ["a"], [])
