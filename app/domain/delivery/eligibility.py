"""Which pledges may fund a milestone: the earmarks a funder set (awards and verifier fees
draw only on these), and what each of them holds."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.money import chart
from app.domain.store.challenges import Challenge
from app.domain.store.milestones import Milestone, MilestoneRepository
from app.domain.store.pledges import Pledge, PledgeRepository
from app.ledger import Ledger


def eligible(pledge: Pledge, milestone: Milestone, lineage: list[uuid.UUID]) -> bool:
    """A pledge funds a milestone unless its earmarks say otherwise: earmarked milestones
    (or a re-tender of one: `lineage`), and SDG targets the milestone is tagged with."""
    if pledge.status not in ("active", "exhausted"):
        return False
    milestones = pledge.earmark_milestone_ids
    if milestones and not {str(m) for m in lineage} & set(milestones):
        return False
    targets = pledge.earmark_sdg_targets
    return not targets or bool(set(targets) & set(milestone.sdg_targets))


async def fundable(
    session: AsyncSession, challenge: Challenge, milestone: Milestone
) -> tuple[list[Pledge], list[tuple[uuid.UUID, int]]]:
    """The challenge's pledges that may fund the milestone, locked (by id), and the money
    each has available (pledges whose account was never written are left out)."""
    lineage = await MilestoneRepository(session).lineage(milestone)
    pledges = [
        p
        for p in await PledgeRepository(session).lock_fundable(challenge.id)
        if eligible(p, milestone, lineage)
    ]
    accounts = {p.id: chart.pledge_account_id(p.id, p.currency) for p in pledges}
    balances = await Ledger(session).balances(accounts.values())
    available = [
        (pid, balances[account].credit_balance)
        for pid, account in accounts.items()
        if account in balances
    ]
    return pledges, available
