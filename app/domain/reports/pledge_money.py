"""What each pledge's money is doing: held, available, in escrow, paid (and to whom),
returned, read from the ledger in a fixed number of queries for any number of pledges.

Escrow accounts are named by (milestone, pledge), so a pledge's escrow positions are the
product of its challenge's awarded milestones and the pledge; which member a pledge's payout
went to is the payout's own plan (`delivery.rules.member_parts`) applied to its draws.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.delivery import rules
from app.domain.delivery.movements import part_entries
from app.domain.money import chart, kinds
from app.domain.pledges import host_fee
from app.domain.store.claims import ClaimRepository
from app.domain.store.milestones import Milestone, MilestoneRepository
from app.domain.store.pledges import Pledge, PledgeRepository
from app.ledger import Ledger


@dataclass(frozen=True)
class PledgeMoney:
    """A pledge's money by where it is, plus whom its payouts went to."""

    held: int = 0
    available: int = 0
    allocated: int = 0
    paid: int = 0
    returned: int = 0
    fees: int = 0  # the host's fee taken from it, and verifier fees it paid
    paid_to: dict[uuid.UUID, int] = field(default_factory=dict)


def new_pledge_money(pledge: Pledge, fee: int = 0) -> PledgeMoney | None:
    """The money of a pledge made in this very unit of work, known from the write itself (no
    query): all of it available once posted (a direct pledge, a threshold met at once) but
    the host's `fee` the write took, all of it held while it waits (a threshold, a match
    cap). None when the write alone cannot tell: a new match whose cap met a waiting
    threshold drew part of it at once."""
    assert pledge.status in ("active", "held"), pledge.status
    if pledge.status == "held":
        return PledgeMoney(held=pledge.amount)
    if pledge.kind == "match":
        return None
    return PledgeMoney(available=pledge.amount - fee, fees=fee)


def new_money(
    session: AsyncSession, pledges: Sequence[Pledge]
) -> dict[uuid.UUID, PledgeMoney | None]:
    """`new_pledge_money` of pledges just made, with the host fees their write took (no
    query)."""
    return {p.id: new_pledge_money(p, host_fee.taken(session, p.id)) for p in pledges}


async def money_of(
    session: AsyncSession, pledges: Sequence[Pledge]
) -> dict[uuid.UUID, PledgeMoney]:
    """The money of each pledge, keyed by pledge id."""
    if not pledges:
        return {}
    ledger = Ledger(session)
    accounts = {p.id: chart.pledge_account_id(p.id, p.currency) for p in pledges}
    balances = await ledger.balances(accounts.values())
    returned = await ledger.debited_by_kind_each(accounts.values(), kinds.RETURN_KINDS)
    host_fees = await ledger.debited_by_kind_each(accounts.values(), [kinds.HOST_FEE])
    escrow = await _escrow_of(session, ledger, pledges)
    verifier_fees = await _fees_of(session, ledger, pledges)
    result = {}
    for pledge in pledges:
        account = accounts[pledge.id]
        balance = balances.get(account)
        allocated, paid, paid_to = escrow.get(pledge.id, (0, 0, {}))
        fee_escrow, fees_paid = verifier_fees.get(pledge.id, (0, 0))
        result[pledge.id] = PledgeMoney(
            held=balance.credits_pending if balance else 0,
            available=balance.credit_balance if balance else 0,
            allocated=allocated + fee_escrow,
            paid=paid,
            returned=returned.get(account, 0),
            fees=host_fees.get(account, 0) + fees_paid,
            paid_to=paid_to,
        )
    return result


async def _escrow_of(
    session: AsyncSession, ledger: Ledger, pledges: Sequence[Pledge]
) -> dict[uuid.UUID, tuple[int, int, dict[uuid.UUID, int]]]:
    """Per pledge: money in escrow, money paid out of escrow, and to whom."""
    milestones = await MilestoneRepository(session).awarded_of_challenges(
        {p.challenge_id for p in pledges}
    )
    positions: dict[uuid.UUID, tuple[Milestone, Pledge]] = {
        chart.escrow_account_id(m.id, p.id, p.currency): (m, p)
        for p in pledges
        for m in milestones.get(p.challenge_id, [])
    }
    balances = await ledger.balances(positions)
    paid = await ledger.debited_by_kind_each(positions, [kinds.PAYOUT])
    found: dict[uuid.UUID, tuple[int, int, dict[uuid.UUID, int]]] = {}
    for account, (milestone, pledge) in sorted(positions.items()):
        allocated, paid_total, paid_to = found.get(pledge.id, (0, 0, {}))
        balance = balances.get(account)
        allocated += balance.credit_balance if balance else 0
        if paid.get(account):
            paid_total += paid[account]
            for org_id, amount in (await _parts_of(session, ledger, milestone, pledge)).items():
                paid_to[org_id] = paid_to.get(org_id, 0) + amount
        found[pledge.id] = (allocated, paid_total, paid_to)
    return found


async def _fees_of(
    session: AsyncSession, ledger: Ledger, pledges: Sequence[Pledge]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Per pledge: money in verifier fee escrow, and verifier fees paid out of it."""
    milestones = await MilestoneRepository(session).with_fees_of_challenges(
        {p.challenge_id for p in pledges}
    )
    positions = {
        chart.fee_escrow_account_id(m.id, p.id, p.currency): p.id
        for p in pledges
        for m in milestones.get(p.challenge_id, [])
    }
    if not positions:
        return {}
    balances = await ledger.balances(positions)
    paid = await ledger.debited_by_kind_each(positions, [kinds.FEE_PAYMENT])
    found: dict[uuid.UUID, tuple[int, int]] = {}
    for account, pledge_id in positions.items():
        held, spent = found.get(pledge_id, (0, 0))
        balance = balances.get(account)
        held += balance.credit_balance if balance else 0
        found[pledge_id] = (held, spent + paid.get(account, 0))
    return found


async def _parts_of(
    session: AsyncSession, ledger: Ledger, milestone: Milestone, pledge: Pledge
) -> dict[uuid.UUID, int]:
    """What each swarm member got of this pledge's share of the milestone's payout."""
    payout = await ClaimRepository(session).payout_of(milestone.id)
    if payout is None:
        return {}
    postings = [p for entry in await part_entries(ledger, payout.entry_id) for p in entry.postings]
    escrows = {
        chart.escrow_account_id(milestone.id, pid, pledge.currency): pid
        for pid in await PledgeRepository(session).ids_of_challenge(milestone.challenge_id)
    }
    draws: dict[uuid.UUID, int] = defaultdict(int)
    for posting in postings:
        if posting.account_id in escrows:
            draws[escrows[posting.account_id]] += posting.debit
    splits = {uuid.UUID(str(s["org_id"])): int(str(s["amount"])) for s in payout.splits}
    return rules.member_parts(dict(draws), splits).get(pledge.id, {})
