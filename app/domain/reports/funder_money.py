"""Which payouts a funder's money went into: per milestone, what each of its pledges' escrow
accounts paid out. The common ground of the impact report and of certificates.

Escrow accounts are named by (milestone, pledge), so the funder's payments are the PAYOUT
debits of the product of its pledges and their challenges' awarded milestones, read in a
fixed number of queries however many pledges and milestones there are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import Unprocessable
from app.domain.money import chart, kinds
from app.domain.money.currency import validate_currency
from app.domain.store.milestones import Milestone, MilestoneRepository
from app.domain.store.pledges import Pledge, PledgeRepository
from app.ledger import Ledger

PLEDGE_PAGE = 1000  # pledges read per query


@dataclass(frozen=True)
class MilestonePayments:
    """What the funder's pledges paid out of their escrow in one milestone, per account."""

    milestone: Milestone
    currency: str
    paid_by_account: dict[uuid.UUID, int]

    @property
    def paid(self) -> int:
        return sum(self.paid_by_account.values())


async def pledges_of_funder(session: AsyncSession, org_id: uuid.UUID) -> list[Pledge]:
    """Every pledge of the funder, oldest first, read page by page (keyset)."""
    repository, found = PledgeRepository(session), []
    after = None
    while page := await repository.page_of_funder(org_id, after=after, limit=PLEDGE_PAGE):
        found.extend(page)
        after = (page[-1].created_at, page[-1].id)
        if len(page) < PLEDGE_PAGE:
            break
    return found


def report_currency(pledges: list[Pledge], currency: str | None) -> str | None:
    """The currency to report in: the one asked for, else the funder's only one (None when it
    pledged nothing); 422 `currency_required` when it pledged in several, as the statement."""
    if currency is not None:
        return validate_currency(currency)
    currencies = sorted({p.currency for p in pledges})
    if len(currencies) > 1:
        raise Unprocessable(
            f"The organisation pledged in several currencies ({', '.join(currencies)}); "
            "pass ?currency=.",
            code="currency_required",
        )
    return currencies[0] if currencies else None


async def payments_of_funder(
    session: AsyncSession, pledges: list[Pledge], currency: str
) -> list[MilestonePayments]:
    """Per milestone that paid out some of these pledges' money (in `currency`), what each of
    their escrow accounts paid; milestones in (challenge, milestone) id order."""
    pledges = [p for p in pledges if p.currency == currency]
    milestones = await MilestoneRepository(session).awarded_of_challenges(
        {p.challenge_id for p in pledges}
    )
    positions = {
        chart.escrow_account_id(m.id, p.id, currency): m
        for p in pledges
        for m in milestones.get(p.challenge_id, [])
    }
    paid = await Ledger(session).debited_by_kind_each(positions, [kinds.PAYOUT])
    by_milestone: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
    for account, amount in paid.items():
        if amount > 0:
            by_milestone.setdefault(positions[account].id, {})[account] = amount
    found = [
        MilestonePayments(m, currency, by_milestone[m.id])
        for ms in milestones.values()
        for m in ms
        if m.id in by_milestone
    ]
    return sorted(found, key=lambda p: (str(p.milestone.challenge_id), str(p.milestone.id)))
