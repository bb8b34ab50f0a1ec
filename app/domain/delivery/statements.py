"""What was allocated, paid (and to whom) and returned, read from the ledger.

Escrow accounts are named by (milestone, pledge), so a challenge's escrow positions are the
product of its milestones and pledges; their balances and payout debits come from the ledger.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.challenges.models import Milestone
from app.domain.delivery import swarms
from app.domain.delivery.models import Bid
from app.domain.money import chart
from app.domain.pledges.models import Pledge
from app.domain.pledges.rules import allocate_pro_rata
from app.ledger import Ledger


@dataclass
class Delivery:
    allocated: int = 0
    paid: int = 0
    paid_to: dict[uuid.UUID, int] = field(default_factory=dict)


async def _milestones(session: AsyncSession, challenge_id: uuid.UUID) -> list[Milestone]:
    return list(
        await session.scalars(
            select(Milestone).where(
                Milestone.challenge_id == challenge_id, Milestone.awarded_bid_id.is_not(None)
            )
        )
    )


async def pledge_delivery(session: AsyncSession, pledge: Pledge) -> Delivery:
    """The pledge's money in escrow, paid out, and to which organisations."""
    result = Delivery()
    ledger = Ledger(session)
    for milestone in await _milestones(session, pledge.challenge_id):
        account = chart.escrow_account_id(milestone.id, pledge.id, pledge.currency)
        balance = (await ledger.balances([account])).get(account)
        if balance is None:
            continue
        result.allocated += balance.credit_balance
        paid = await ledger.debited_by_kind([account], ["payout"])
        result.paid += paid
        if paid and milestone.awarded_bid_id is not None:
            bid = await session.get(Bid, milestone.awarded_bid_id)
            assert bid is not None
            members = await swarms.members_of(session, bid.swarm_id)
            shares = allocate_pro_rata(paid, [(m.org_id, m.share_bps) for m in members])
            for org_id, amount in shares.items():
                result.paid_to[org_id] = result.paid_to.get(org_id, 0) + amount
    return result
