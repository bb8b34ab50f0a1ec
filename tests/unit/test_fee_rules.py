"""Property tests: host fees are the floor of their share; verifier fees are escrowed for
exactly the unpaid assigned verifiers, and every fee draw takes exactly its amount without
overdrawing any pledge's position."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.delivery.fee_rules import draw, fee_escrow_needed
from app.domain.pledges.host_fee import host_fee

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


@given(st.integers(0, 10**15), st.integers(0, 2_000))
def test_the_host_fee_is_the_floor_of_its_share_and_never_more_than_the_amount(
    amount: int, bps: int
) -> None:
    fee = host_fee(amount, bps)
    assert 0 <= fee <= amount
    assert fee * 10_000 <= amount * bps < (fee + 1) * 10_000


@given(st.lists(st.integers(1, 10**9), min_size=1, max_size=10), st.integers(0, 2_000))
def test_fees_taken_draw_by_draw_never_exceed_the_fee_on_the_whole(
    draws: list[int], bps: int
) -> None:
    assert sum(host_fee(d, bps) for d in draws) <= host_fee(sum(draws), bps)
