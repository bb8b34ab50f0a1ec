"""Use cases of pledges: pledge, read, list, cancel; and the due work of deadlines and expiry.

Each use case locks the challenge's row first, so the pledges of one challenge settle one
transaction at a time (thresholds and matches depend on each other), while different
challenges proceed in parallel.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.domain import policies
from app.domain.challenges import service as challenges
from app.domain.challenges.models import Challenge, Milestone
from app.domain.delivery import statements
from app.domain.errors import Forbidden, InsufficientFunds, InvalidState, NotFound, Unprocessable
from app.domain.flows import record as record_flow
from app.domain.flows.totals import Totals
from app.domain.identity.caller import Caller
from app.domain.money import chart
from app.domain.pledges import settlement
from app.domain.pledges.announce import announce
from app.domain.pledges.models import Pledge
from app.domain.pledges.rules import BPS, RETURN_KINDS
from app.ledger import Ledger, LimitExceeded
from app.ledger.sqltypes import utcnow

MAX_MATCH_RATIO = Decimal(100)
DUE_BATCH = 50


@dataclass(frozen=True)
class PledgeSpec:
    amount: int
    kind: str
    threshold_amount: int | None = None
    deadline: datetime | None = None
    match_ratio: Decimal | None = None
    earmark_milestone_ids: list[uuid.UUID] = field(default_factory=list)
    earmark_sdg_targets: list[str] = field(default_factory=list)
    expires_at: datetime | None = None
    on_expiry: str = "refund"
    rollover_challenge_id: uuid.UUID | None = None
    anonymous: bool = False


@dataclass(frozen=True)
class PledgeAmounts(Totals):
    """A pledge's money, as a challenge's totals, plus whom its payouts went to."""

    paid_to: dict[uuid.UUID, int] = field(default_factory=dict)


def _ratio_bps(ratio: Decimal) -> int:
    if not Decimal(0) < ratio <= MAX_MATCH_RATIO:
        raise Unprocessable(
            f"match_ratio must be > 0 and <= {MAX_MATCH_RATIO}.", code="invalid_ratio"
        )
    bps = ratio * BPS
    if bps != bps.to_integral_value(rounding=ROUND_DOWN):
        raise Unprocessable("match_ratio has at most 4 decimal places.", code="invalid_ratio")
    return int(bps)


def _check_kind(spec: PledgeSpec) -> None:
    needs = {
        "direct": set(),
        "threshold": {"threshold_amount", "deadline"},
        "match": {"match_ratio"},
    }[spec.kind]
    given = {
        name
        for name in ("threshold_amount", "deadline", "match_ratio")
        if getattr(spec, name) is not None
    }
    if given != needs:
        raise Unprocessable(
            f"a {spec.kind} pledge takes {sorted(needs) or 'none'} of threshold_amount, "
            f"deadline, match_ratio; got {sorted(given)}",
            code="invalid_pledge_terms",
        )
    if spec.deadline is not None and spec.deadline <= utcnow():
        raise Unprocessable("deadline must be in the future.", code="invalid_pledge_terms")


async def _check_terms(session: AsyncSession, challenge: Challenge, spec: PledgeSpec) -> None:
    _check_kind(spec)
    if spec.earmark_milestone_ids:
        found = set(
            await session.scalars(
                select(Milestone.id).where(
                    Milestone.id.in_(spec.earmark_milestone_ids),
                    Milestone.challenge_id == challenge.id,
                )
            )
        )
        if found != set(spec.earmark_milestone_ids):
            raise Unprocessable(
                "earmark.milestone_ids must be milestones of this challenge.",
                code="invalid_earmark",
            )
    if not set(spec.earmark_sdg_targets) <= set(challenge.sdg_targets):
        raise Unprocessable(
            f"earmark.sdg_targets must be among the challenge's {challenge.sdg_targets}.",
            code="invalid_earmark",
        )
    if spec.expires_at is not None and spec.expires_at <= utcnow():
        raise Unprocessable("expires_at must be in the future.", code="invalid_expiry")
    if spec.on_expiry == "rollover":
        target_id = spec.rollover_challenge_id
        target = await session.get(Challenge, target_id) if target_id else None
        if target is None or target.id == challenge.id or target.currency != challenge.currency:
            raise Unprocessable(
                "rollover needs rollover_challenge_id: another challenge in the same currency.",
                code="invalid_rollover",
            )
    elif spec.rollover_challenge_id is not None:
        raise Unprocessable(
            "rollover_challenge_id needs on_expiry 'rollover'.", code="invalid_rollover"
        )


async def _fund(ledger: Ledger, pledge: Pledge) -> None:
    """The pledge's first movement: posted at once (direct) or held (threshold, match)."""
    wallet = await chart.existing_wallet(ledger, pledge.funder_org_id, pledge.currency)
    if wallet is None:
        raise InsufficientFunds(f"The wallet holds no {pledge.currency}; {pledge.amount} needed.")
    account = await chart.pledge_account(ledger, pledge.id, pledge.currency)
    move = ledger.transfer if pledge.kind == "direct" else ledger.hold
    try:
        await move(
            entry_id=pledge.id,
            debit_account_id=wallet.id,
            credit_account_id=account.id,
            amount=pledge.amount,
            kind={"direct": "pledge", "threshold": "pledge_hold", "match": "match_hold"}[
                pledge.kind
            ],
            meta={
                "pledge_id": str(pledge.id),
                "memo": f"pledge to challenge {pledge.challenge_id}",
                **chart.pledge_privacy(pledge),
            },
        )
    except LimitExceeded as error:
        raise InsufficientFunds(
            f"The wallet has {error.available} {pledge.currency} available; "
            f"{pledge.amount} was pledged."
        ) from None
    if pledge.kind == "direct":
        await record_flow.pledged(ledger.session, pledge, pledge.amount)


async def create_pledge(
    session: AsyncSession, caller: Caller | None, challenge_id: uuid.UUID, spec: PledgeSpec
) -> Pledge:
    caller = policies.require_role(caller, "funder")
    assert caller.org_id is not None
    challenge = await challenges.get_challenge(session, challenge_id, lock=True)
    if challenge.status != "open":
        raise InvalidState("challenge", challenge_id, challenge.status, "pledged to")
    await _check_terms(session, challenge, spec)
    pledge = Pledge(
        id=uuid.uuid4(),
        challenge_id=challenge.id,
        funder_org_id=caller.org_id,
        kind=spec.kind,
        amount=spec.amount,
        currency=challenge.currency,
        status="active" if spec.kind == "direct" else "held",
        threshold_amount=spec.threshold_amount,
        deadline=spec.deadline,
        match_ratio_bps=_ratio_bps(spec.match_ratio) if spec.match_ratio is not None else None,
        earmark_milestone_ids=[str(m) for m in spec.earmark_milestone_ids],
        earmark_sdg_targets=sorted(set(spec.earmark_sdg_targets)),
        expires_at=spec.expires_at,
        on_expiry=spec.on_expiry,
        rollover_challenge_id=spec.rollover_challenge_id,
        anonymous=spec.anonymous,
        created_at=utcnow(),
    )
    pledge.hold_entry_id = None if spec.kind == "direct" else pledge.id
    pledge.hold_sequence = 0
    await _fund(Ledger(session), pledge)
    session.add(pledge)
    await session.flush()
    await announce(session, "pledge.created" if spec.kind == "direct" else "pledge.held", pledge)
    await settlement.settle(session, challenge, [pledge.amount] if spec.kind == "direct" else [])
    return pledge


async def _visible(session: AsyncSession, caller: Caller | None, pledge_id: uuid.UUID) -> Pledge:
    caller = policies.require_caller(caller)
    pledge = await session.get(Pledge, pledge_id)
    if pledge is None:
        raise NotFound("pledge", pledge_id)
    if caller.is_admin or caller.is_org(pledge.funder_org_id):
        return pledge
    challenge = await session.get(Challenge, pledge.challenge_id)
    if challenge is not None and caller.is_org(challenge.steward_org_id):
        return pledge
    raise NotFound("pledge", pledge_id)


async def get_pledge(session: AsyncSession, caller: Caller | None, pledge_id: uuid.UUID) -> Pledge:
    """The funder, the challenge's steward and the admin may read a pledge."""
    return await _visible(session, caller, pledge_id)


def shows_funder(caller: Caller | None, pledge: Pledge) -> bool:
    """Anonymous pledges name their funder only to the funder and the admin."""
    if not pledge.anonymous:
        return True
    return caller is not None and (caller.is_admin or caller.is_org(pledge.funder_org_id))


async def amounts(session: AsyncSession, pledges: list[Pledge]) -> dict[uuid.UUID, PledgeAmounts]:
    """held / available / allocated / paid (and to whom) / returned of each pledge, from the
    ledger."""
    ledger = Ledger(session)
    accounts = {p.id: chart.pledge_account_id(p.id, p.currency) for p in pledges}
    balances = await ledger.balances(accounts.values())
    result = {}
    for pledge in pledges:
        account = accounts[pledge.id]
        balance = balances.get(account)
        returned = await ledger.debited_by_kind([account], RETURN_KINDS)
        delivered = await statements.pledge_delivery(session, pledge)
        result[pledge.id] = PledgeAmounts(
            held=balance.credits_pending if balance else 0,
            available=balance.credit_balance if balance else 0,
            allocated=delivered.allocated,
            paid=delivered.paid,
            returned=returned,
            paid_to=delivered.paid_to,
        )
    return result


async def list_org_pledges(
    session: AsyncSession,
    caller: Caller | None,
    org_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Pledge]:
    policies.ensure_can_manage_org(caller, org_id)
    query = (
        select(Pledge)
        .where(Pledge.funder_org_id == org_id)
        .order_by(Pledge.created_at, Pledge.id)
        .limit(limit)
    )
    if after is not None:
        created_at, last_id = after
        query = query.where(
            (Pledge.created_at > created_at)
            | ((Pledge.created_at == created_at) & (Pledge.id > last_id))
        )
    return list(await session.scalars(query))


async def cancel_pledge(
    session: AsyncSession, caller: Caller | None, pledge_id: uuid.UUID
) -> Pledge:
    """A funder withdraws a pledge that is only held: a threshold not yet met, a match not
    yet drawn. The hold is voided and the money is free in the wallet again."""
    pledge = await _visible(session, caller, pledge_id)
    assert caller is not None
    if not caller.is_org(pledge.funder_org_id):
        raise Forbidden("Only the funder may cancel a pledge.")
    await challenges.get_challenge(session, pledge.challenge_id, lock=True)
    await session.refresh(pledge, with_for_update=True)
    ledger = Ledger(session)
    drawn = (
        await ledger.balance(chart.pledge_account_id(pledge.id, pledge.currency))
    ).credits_posted
    if pledge.status != "held" or drawn:
        raise InvalidState("pledge", pledge_id, pledge.status, "cancelled (only held pledges can)")
    await settlement.release_hold(ledger, pledge, "cancel")
    await session.flush()
    await announce(session, "pledge.released", pledge, reason="cancelled by the funder")
    return pledge


async def _due_ids(
    session: AsyncSession, column: InstrumentedAttribute[datetime | None], now: datetime
) -> list[uuid.UUID]:
    query = (
        select(Pledge.id)
        .where(Pledge.status.in_(settlement.LIVE_STATUSES), column <= now)
        .order_by(column)
        .limit(DUE_BATCH)
    )
    return list(await session.scalars(query))


async def _lock_due(session: AsyncSession, pledge_id: uuid.UUID) -> tuple[Pledge, Challenge] | None:
    """Claim a due pledge: its challenge's row with FOR UPDATE SKIP LOCKED (a challenge
    another process is settling is left for the next round), then the pledge itself, whose
    state is re-read under the lock so nothing is done twice."""
    pledge = await session.get(Pledge, pledge_id)
    if pledge is None:
        return None
    query = select(Challenge).where(Challenge.id == pledge.challenge_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    challenge = (
        await session.scalars(query.execution_options(populate_existing=True))
    ).one_or_none()
    if challenge is None:
        return None
    await session.refresh(pledge, with_for_update=True)
    return pledge, challenge


async def _process_due(
    session: AsyncSession,
    column: InstrumentedAttribute[datetime | None],
    now: datetime,
    still_due: Callable[[Pledge], bool],
    act: Callable[[Pledge], Awaitable[None]],
) -> int:
    """Claim each due pledge (see `_lock_due`), re-check it under the lock, act on it."""
    done = 0
    for pledge_id in await _due_ids(session, column, now):
        locked = await _lock_due(session, pledge_id)
        if locked is None or not still_due(locked[0]):
            continue
        await act(locked[0])
        done += 1
    await session.flush()
    return done


async def release_missed_thresholds(session: AsyncSession, now: datetime) -> int:
    """Due work: threshold pledges whose deadline passed unmet go back to the wallet."""

    async def release(pledge: Pledge) -> None:
        await settlement.release_hold(Ledger(session), pledge, "deadline")
        pledge.status = "released"
        await announce(session, "pledge.released", pledge, reason="threshold deadline passed")

    return await _process_due(
        session,
        Pledge.deadline,
        now,
        lambda p: p.kind == "threshold" and p.status == "held" and _passed(p.deadline, now),
        release,
    )


async def expire_pledges(session: AsyncSession, now: datetime) -> int:
    """Due work: expired pledges return their unallocated money, or roll it over. An
    exhausted pledge expires too: escrow that comes back to it later goes on to the wallet."""
    return await _process_due(
        session,
        Pledge.expires_at,
        now,
        lambda p: p.status in settlement.LIVE_STATUSES and _passed(p.expires_at, now),
        lambda p: _expire(session, p),
    )


def _passed(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment <= now


async def _expire(session: AsyncSession, pledge: Pledge) -> None:
    ledger = Ledger(session)
    await settlement.release_hold(ledger, pledge, "expiry")
    target = None
    if pledge.on_expiry == "rollover" and pledge.rollover_challenge_id is not None:
        target = await session.get(Challenge, pledge.rollover_challenge_id, with_for_update=True)
    if target is not None and target.status == "open" and target.currency == pledge.currency:
        await _roll_over(session, ledger, pledge, target)
        refunded = 0
    else:
        refunded = await settlement.return_available(ledger, pledge, "pledge_expiry_refund")
    pledge.status = "expired"
    rolled = str(pledge.rolled_into_pledge_id) if pledge.rolled_into_pledge_id else None
    await announce(session, "pledge.expired", pledge, returned=refunded, rolled_into=rolled)


async def _roll_over(
    session: AsyncSession, ledger: Ledger, pledge: Pledge, target: Challenge
) -> None:
    """Move the pledge's available money into a new direct pledge on the target challenge."""
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
    session.add(successor)
    successor_account = await chart.pledge_account(ledger, successor.id, successor.currency)
    await ledger.transfer(
        entry_id=settlement.step_id(pledge.id, "rollover-move"),
        debit_account_id=account_id,
        credit_account_id=successor_account.id,
        amount=available,
        kind="pledge_rollover",
        meta={"pledge_id": str(pledge.id), "into": str(successor.id)},
    )
    await record_flow.rolled_over(session, pledge, available)
    await record_flow.pledged(session, successor, available)
    pledge.rolled_into_pledge_id = successor.id
    await session.flush()
    await announce(session, "pledge.created", successor, rolled_from=str(pledge.id))
    await settlement.settle(session, target, [available])
