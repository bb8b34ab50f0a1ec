"""A challenge's money at a glance (held, available, allocated, paid, returned), read from
the flow rollup and the few pledges that still hold money: cheap for any number of pledges.

Conservation per challenge: everything that came in (funders, rollovers in) is available,
in escrow (an award's or verifier fees'), paid to actors, paid to verifiers (`fees`),
returned or rolled over; `reconcile` proves the rollup equals the journal.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.flows import keys
from app.domain.flows.models import FlowTotal
from app.domain.money import chart
from app.domain.store.pledges import PledgeRepository
from app.ledger import Ledger

# Which of the sums below a rollup row adds to, decided in SQL so the database aggregates.
CATEGORY = case(
    (FlowTotal.source.startswith("funder:"), "came_in"),
    (FlowTotal.target.startswith("milestone:"), "escrowed"),
    (FlowTotal.target.startswith("actor:"), "paid"),
    (FlowTotal.target.startswith("verifier:"), "fees"),
    (FlowTotal.target.startswith("host:"), "host_fees"),
    (FlowTotal.target == keys.RETURNED, "returned"),
    else_="rolled_over",
)


@dataclass(frozen=True)
class Totals:
    held: int = 0
    available: int = 0
    allocated: int = 0
    paid: int = 0
    returned: int = 0
    fees: int = 0  # paid to verifiers (out of escrow, like `paid`) and to the host


@dataclass
class _Sums:
    came_in: int = 0
    escrowed: int = 0  # net of escrow returns: paid out or still in escrow (fees included)
    paid: int = 0
    fees: int = 0
    host_fees: int = 0
    returned: int = 0
    rolled_over: int = 0

    def add(self, category: str, amount: int) -> None:
        setattr(self, category, getattr(self, category) + amount)

    def totals(self, held: int) -> Totals:
        return Totals(
            held=held,
            available=self.came_in
            - self.escrowed
            - self.returned
            - self.rolled_over
            - self.host_fees,
            allocated=self.escrowed - self.paid - self.fees,
            paid=self.paid,
            returned=self.returned,
            fees=self.fees + self.host_fees,
        )


async def _held(session: AsyncSession, challenge_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Money reserved by pending pledges: only pledges with an open hold are read."""
    rows = await PledgeRepository(session).holding_of(challenge_ids)
    accounts = {chart.pledge_account_id(pid, currency): cid for pid, cid, currency in rows}
    held: dict[uuid.UUID, int] = defaultdict(int)
    for account_id, balance in (await Ledger(session).balances(accounts)).items():
        held[accounts[account_id]] += balance.credits_pending
    return held


async def totals_of(
    session: AsyncSession, challenge_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Totals]:
    ids = list(dict.fromkeys(challenge_ids))
    if not ids:
        return {}
    sums: dict[uuid.UUID, _Sums] = {cid: _Sums() for cid in ids}
    rows = await session.execute(
        select(FlowTotal.challenge_id, CATEGORY, func.sum(FlowTotal.amount))
        .where(FlowTotal.challenge_id.in_(ids))
        .group_by(FlowTotal.challenge_id, CATEGORY)
    )
    for challenge_id, category, amount in rows:
        sums[challenge_id].add(category, int(amount))
    held = await _held(session, ids)
    return {cid: sums[cid].totals(held.get(cid, 0)) for cid in ids}
