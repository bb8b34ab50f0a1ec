"""Due work of pledges: threshold deadlines that pass unmet, and expiry (refund or rollover).

Each pledge is processed in its own transaction (due_items): its challenge is locked without
waiting, together with the challenge it rolls over into, in id order, then the pledge is
re-read under its lock, so nothing is done twice and no two processes wait on each other.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.domain.assurance import service as assurance
from app.domain.due_items import DUE_BATCH, Transactor, process_each
from app.domain.flows import record as record_flow
from app.domain.money import chart, kinds
from app.domain.pledges import settlement
from app.domain.pledges.announce import announce
from app.domain.store.challenges import Challenge, ChallengeRepository
from app.domain.store.pledges import LIVE_STATUSES, Pledge, PledgeRepository
from app.ledger import Ledger
from app.sql.types import utcnow


def _passed(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment <= now


def _finder(column: InstrumentedAttribute[datetime | None], now: datetime):  # type: ignore[no-untyped-def]
    async def find(session: AsyncSession) -> list[uuid.UUID]:
        return [p.id for p in await PledgeRepository(session).due(column, now, DUE_BATCH)]

    return find


async def _claim(
    session: AsyncSession, pledge_id: uuid.UUID
) -> tuple[Pledge, dict[uuid.UUID, Challenge]] | None:
    """The pledge under its lock, with its challenge (and its rollover target) locked
    without waiting; None if it is gone or a challenge is busy."""
    found = await PledgeRepository(session).find(pledge_id)
    if found is None:
        return None
    wanted = {found.challenge_id}
    if found.on_expiry == "rollover" and found.rollover_challenge_id is not None:
        wanted.add(found.rollover_challenge_id)
    challenges = await ChallengeRepository(session).try_lock_together(wanted)
    if challenges is None or found.challenge_id not in challenges:
        return None
    pledge = await PledgeRepository(session).lock(pledge_id, challenge_id=found.challenge_id)
    return pledge, challenges


async def release_missed_thresholds(database: Transactor, now: datetime) -> int:
    """Due work: threshold pledges whose deadline passed unmet go back to the wallet."""

    async def release(session: AsyncSession, pledge_id: uuid.UUID) -> bool:
        claimed = await _claim(session, pledge_id)
        if claimed is None:
            return False
        pledge, _ = claimed
        if not (pledge.kind == "threshold" and pledge.status == "held"):
            return False
        if not _passed(pledge.deadline, now):
            return False
        await settlement.release_hold(Ledger(session), pledge, "deadline")
        pledge.status = "released"
        await settlement.assert_empty(Ledger(session), pledge)
        await announce(session, "pledge.released", pledge, reason="threshold deadline passed")
        await assurance.pay_missed_threshold(session, pledge)
        return True

    return await process_each(database, _finder(Pledge.deadline, now), release)


async def expire_pledges(database: Transactor, now: datetime) -> int:
    """Due work: expired pledges return their unallocated money, or roll it over. An
    exhausted pledge expires too: escrow that comes back to it later goes on to the wallet."""

    async def expire(session: AsyncSession, pledge_id: uuid.UUID) -> bool:
        claimed = await _claim(session, pledge_id)
        if claimed is None:
            return False
        pledge, challenges = claimed
        if pledge.status not in LIVE_STATUSES or not _passed(pledge.expires_at, now):
            return False
        await _expire(session, pledge, challenges.get(pledge.rollover_challenge_id))  # type: ignore[arg-type]
        return True

    return await process_each(database, _finder(Pledge.expires_at, now), expire)


async def _expire(session: AsyncSession, pledge: Pledge, target: Challenge | None) -> None:
    ledger = Ledger(session)
    await settlement.release_hold(ledger, pledge, "expiry")
    rolls = (
        pledge.on_expiry == "rollover"
        and target is not None
        and target.status == "open"
        and target.currency == pledge.currency
    )
    refunded = 0
    if rolls:
        assert target is not None
        await _roll_over(session, ledger, pledge, target)
    else:
        refunded = await settlement.return_available(ledger, pledge, kinds.PLEDGE_EXPIRY_REFUND)
    pledge.status = "expired"
    await settlement.assert_empty(ledger, pledge)
    rolled = str(pledge.rolled_into_pledge_id) if pledge.rolled_into_pledge_id else None
    await announce(session, "pledge.expired", pledge, returned=refunded, rolled_into=rolled)


async def _roll_over(
    session: AsyncSession, ledger: Ledger, pledge: Pledge, target: Challenge
) -> None:
    """Move the pledge's available money into a new direct pledge on the target challenge
    (whose lock the caller holds)."""
    account_id = chart.pledge_account_id(pledge.id, pledge.currency)
    available = (await ledger.balance(account_id)).credit_balance
    if available <= 0:
        return
    successor = Pledge(
        id=settlement.step_id(pledge.id, "rollover"),
        challenge_id=target.id,
        funder_org_id=pledge.funder_org_id,
        kind="direct",
        amount=available,
        currency=pledge.currency,
        status="active",
        earmark_milestone_ids=[],
        earmark_sdg_targets=[],
        on_expiry="refund",
        anonymous=pledge.anonymous,
        hold_sequence=0,
        created_at=utcnow(),
    )
    PledgeRepository(session).add(successor)
    successor_account = chart.pledge_account(successor.id, successor.currency)
    await ledger.transfer(
        entry_id=settlement.step_id(pledge.id, "rollover-move"),
        debit_account_id=account_id,
        credit_account_id=successor_account.id,
        amount=available,
        kind=kinds.PLEDGE_ROLLOVER,
        meta={"pledge_id": str(pledge.id), "into": str(successor.id)},
    )
    await record_flow.rolled_over(session, pledge, available)
    await record_flow.pledged(session, successor, available)
    pledge.rolled_into_pledge_id = successor.id
    await session.flush()
    await announce(session, "pledge.created", successor, rolled_from=str(pledge.id))
    await settlement.settle(session, target, [(pledge.funder_org_id, available)])
