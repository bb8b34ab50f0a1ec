"""Prove the rollup equals the journal: rebuild every flow from posted ledger lines and
compare. The admin's ledger check reports any difference; the test suite runs it after
every test that touches the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.flows import derive
from app.domain.flows.models import FlowTotal
from app.domain.money import kinds
from app.domain.store.milestones import MilestoneRepository
from app.domain.store.pledges import PledgeRepository
from app.ledger import Ledger, PostedLine


def _line(line: PostedLine) -> derive.Line:
    milestone_id = line.meta.get("milestone_id")
    host_org_id = line.meta.get("host_org_id")
    return derive.Line(
        kind=line.kind,
        account_code=line.account_code,
        owner_ref=line.owner_ref,
        currency=line.currency,
        debit=line.debit,
        credit=line.credit,
        milestone_id=str(milestone_id) if milestone_id else None,
        host_org_id=str(host_org_id) if host_org_id else None,
    )


async def from_ledger(session: AsyncSession) -> derive.Derived:
    """Every flow total as the journal implies it."""
    ledger = Ledger(session)
    lines = await ledger.posted_lines(["pledge", "escrow", "fee_escrow"])
    lines += await ledger.posted_lines(["wallet"], [kinds.PAYOUT, kinds.FEE_PAYMENT])
    pledges = await PledgeRepository(session).owners()
    milestones = await MilestoneRepository(session).challenge_of_each()
    return derive.derive((_line(line) for line in lines), pledges, milestones)


async def differences(session: AsyncSession) -> list[str]:
    """Human-readable differences between the rollup and the journal (empty: they agree)."""
    derived = await from_ledger(session)
    stored = {
        (cid, currency, source, target): int(amount)
        for cid, currency, source, target, amount in await session.execute(
            select(
                FlowTotal.challenge_id,
                FlowTotal.currency,
                FlowTotal.source,
                FlowTotal.target,
                FlowTotal.amount,
            )
        )
    }
    problems = [
        f"flow {key[2]} -> {key[3]} of challenge {key[0]} ({key[1]}): "
        f"rollup {stored.get(key, 0)}, ledger {derived.totals.get(key, 0)}"
        for key in sorted(stored.keys() | derived.totals.keys(), key=str)
        if stored.get(key, 0) != derived.totals.get(key, 0)
    ]
    problems += [
        f"ledger line fits no funding flow: {line.kind} {line.owner_ref} "
        f"debit {line.debit} credit {line.credit}"
        for line in derived.unexplained
    ]
    return problems
