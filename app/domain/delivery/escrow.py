"""A milestone's escrow: one ledger account per (milestone, pledge), read from the ledger.

Account ids derive from the pair, so finding a milestone's escrow positions needs no ledger
query beyond their balances.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.money import chart
from app.domain.store.milestones import Milestone
from app.domain.store.pledges import PledgeRepository
from app.ledger import Ledger


async def accounts_of(
    session: AsyncSession, milestone: Milestone, currency: str
) -> dict[uuid.UUID, uuid.UUID]:
    """Pledge id -> the id of its escrow account for this milestone, for every pledge of the
    challenge (account ids derive from the pair: no ledger query)."""
    pledge_ids = await PledgeRepository(session).ids_of_challenge(milestone.challenge_id)
    return {pid: chart.escrow_account_id(milestone.id, pid, currency) for pid in pledge_ids}


async def balances_of(
    session: AsyncSession, milestone: Milestone, currency: str
) -> list[tuple[uuid.UUID, int]]:
    """(pledge id, money in escrow) of every pledge with money in the milestone's escrow,
    by pledge id."""
    accounts = await accounts_of(session, milestone, currency)
    balances = await Ledger(session).balances(accounts.values())
    return sorted(
        (pid, balances[account].credit_balance)
        for pid, account in accounts.items()
        if account in balances and balances[account].credit_balance > 0
    )


async def pledges_escrowed(
    session: AsyncSession, milestone: Milestone, currency: str
) -> list[uuid.UUID]:
    """The pledges that ever put money in the milestone's escrow (their escrow account
    exists, whether or not it still holds money), by pledge id."""
    accounts = await accounts_of(session, milestone, currency)
    balances = await Ledger(session).balances(accounts.values())
    return sorted(pid for pid, account in accounts.items() if account in balances)
