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
from app.domain.delivery import rules
from app.domain.delivery.entries import part_entries
from app.domain.delivery.models import Payout
from app.domain.money import chart
from app.domain.pledges.models import Pledge
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


async def escrow_accounts_of(
    session: AsyncSession, milestone: Milestone, currency: str
) -> dict[uuid.UUID, uuid.UUID]:
    """Pledge id -> the id of its escrow account for this milestone, for every pledge of the
    challenge (account ids derive from the pair: no ledger query)."""
    pledge_ids = await session.scalars(
        select(Pledge.id).where(Pledge.challenge_id == milestone.challenge_id)
    )
    return {pid: chart.escrow_account_id(milestone.id, pid, currency) for pid in pledge_ids}


async def pledge_delivery(session: AsyncSession, pledge: Pledge) -> Delivery:
    """The pledge's money in escrow, paid out, and to which organisations: the payout entry's
    draws (from the ledger) split by the same rule that planned the payout."""
    result = Delivery()
    ledger = Ledger(session)
    escrows = {
        chart.escrow_account_id(milestone.id, pledge.id, pledge.currency): milestone
        for milestone in await _milestones(session, pledge.challenge_id)
    }
    balances = await ledger.balances(escrows)  # one query, whatever the number of milestones
    for account, balance in sorted(balances.items()):
        milestone = escrows[account]
        result.allocated += balance.credit_balance
        paid = await ledger.debited_by_kind([account], ["payout"])
        result.paid += paid
        if paid:
            for org_id, amount in (await _parts_of(session, ledger, milestone, pledge)).items():
                result.paid_to[org_id] = result.paid_to.get(org_id, 0) + amount
    return result


async def _parts_of(
    session: AsyncSession, ledger: Ledger, milestone: Milestone, pledge: Pledge
) -> dict[uuid.UUID, int]:
    payout = await session.get(Payout, milestone.id)
    if payout is None:
        return {}
    postings = [p for entry in await part_entries(ledger, payout.entry_id) for p in entry.postings]
    escrows = {
        account: pid
        for pid, account in (await escrow_accounts_of(session, milestone, pledge.currency)).items()
    }
    draws = {escrows[p.account_id]: p.debit for p in postings if p.account_id in escrows}
    splits = {uuid.UUID(str(s["org_id"])): int(str(s["amount"])) for s in payout.splits}
    return rules.member_parts(draws, splits).get(pledge.id, {})
