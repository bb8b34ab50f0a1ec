"""Use cases of the assurance bonus: offer one, pay it to missed thresholds, return the rest.

Every movement is a ledger entry in the caller's transaction, under the challenge's row lock
(offering takes it; due work and the challenge's end already hold it), with `remaining`
written beside it. Entry ids derive from the bonus and the step, so a step retried or raced
is the same entry, never a second payment.

    offer:   wallet:{sponsor} -> bonus:{b}                      bonus.created
    pay:     bonus:{b} -> wallet:{funder of a missed threshold}  bonus.paid
    return:  bonus:{b} -> wallet:{sponsor}, at complete/cancel   bonus.returned
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.assurance.rules import MAX_BONUS_BPS, MIN_BONUS_BPS, bonus_for
from app.domain.errors import InvalidState, Unprocessable, invariant
from app.domain.events.publish import emit
from app.domain.identity.caller import Caller
from app.domain.money import chart, kinds
from app.domain.money.shortfall import wallet_short
from app.domain.store.bonuses import AssuranceBonus, BonusRepository
from app.domain.store.challenges import Challenge, ChallengeRepository
from app.ledger import Ledger, LimitExceeded, derived_id
from app.sql.types import utcnow

MAX_BONUSES_PER_CHALLENGE = 20
OFFER_STATES = ("draft", "open")  # later, no threshold pledge can still miss its deadline


class ReleasedPledge(Protocol):
    """What paying a bonus needs of a released threshold pledge."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def challenge_id(self) -> uuid.UUID: ...

    @property
    def funder_org_id(self) -> uuid.UUID: ...

    @property
    def amount(self) -> int: ...

    @property
    def anonymous(self) -> bool: ...


def bonus_data(bonus: AssuranceBonus, **extra: Any) -> dict[str, Any]:
    """What a bonus's events say about it."""
    return {
        "bonus_id": str(bonus.id),
        "challenge_id": str(bonus.challenge_id),
        "currency": bonus.currency,
        "bonus_bps": bonus.bonus_bps,
        "remaining": bonus.remaining,
        **extra,
    }


async def offer_bonus(
    session: AsyncSession,
    caller: Caller | None,
    challenge_id: uuid.UUID,
    *,
    amount: int,
    bonus_bps: int,
) -> AssuranceBonus:
    """A funder escrows a bonus for the challenge's threshold pledgers (draft or open)."""
    caller = policies.require_role(caller, "funder")
    assert caller.org_id is not None
    if not MIN_BONUS_BPS <= bonus_bps <= MAX_BONUS_BPS:
        raise Unprocessable(
            f"bonus_bps is {bonus_bps}; it must be {MIN_BONUS_BPS} to {MAX_BONUS_BPS} "
            "(10,000 bps pays a missed pledge its whole amount again).",
            code="invalid_bonus_bps",
        )
    challenge = await ChallengeRepository(session).lock(challenge_id)
    if challenge.status not in OFFER_STATES:
        raise InvalidState("challenge", challenge_id, challenge.status, "offered a bonus")
    repository = BonusRepository(session)
    if await repository.count_of_challenge(challenge_id) >= MAX_BONUSES_PER_CHALLENGE:
        raise Unprocessable(
            f"challenge {challenge_id} already has {MAX_BONUSES_PER_CHALLENGE} assurance "
            "bonuses, the most one challenge may have.",
            code="too_many_bonuses",
        )
    bonus = AssuranceBonus(
        id=uuid.uuid4(),
        challenge_id=challenge.id,
        sponsor_org_id=caller.org_id,
        currency=challenge.currency,
        amount=amount,
        bonus_bps=bonus_bps,
        remaining=amount,
        status="active",
        created_at=utcnow(),
    )
    await _escrow(Ledger(session), bonus)
    repository.add(bonus)
    await session.flush()
    await emit(
        session,
        "bonus.created",
        bonus_data(bonus, amount=amount, sponsor_org_id=str(caller.org_id)),
        orgs=[caller.org_id, challenge.steward_org_id],
        public=True,
    )
    return bonus


async def _escrow(ledger: Ledger, bonus: AssuranceBonus) -> None:
    wallet = chart.wallet(bonus.sponsor_org_id, bonus.currency)
    account = chart.bonus_account(bonus.id, bonus.currency)
    try:
        await ledger.transfer(
            entry_id=bonus.id,
            debit_account_id=wallet.id,
            credit_account_id=account.id,
            amount=bonus.amount,
            kind=kinds.BONUS_ESCROW,
            meta={"bonus_id": str(bonus.id), "memo": f"assurance bonus on {bonus.challenge_id}"},
        )
    except LimitExceeded as error:
        raise wallet_short(
            error.available, bonus.amount, bonus.currency, "the bonus needs"
        ) from None


async def pay_missed_threshold(session: AsyncSession, pledge: ReleasedPledge) -> int:
    """A threshold pledge was released because its deadline passed unmet: its funder's
    wallet gets each active bonus's min(remaining, floor(amount x bps / 10,000)). The
    caller holds the challenge's lock. Returns what was paid in all."""
    ledger = Ledger(session)
    paid = 0
    for bonus in await BonusRepository(session).active_under_lock(pledge.challenge_id):
        share = bonus_for(pledge.amount, bonus.bonus_bps, bonus.remaining)
        if share == 0:
            continue
        await ledger.transfer(
            entry_id=derived_id(bonus.id, f"paid:{pledge.id}"),
            debit_account_id=chart.bonus_account(bonus.id, bonus.currency).id,
            credit_account_id=chart.wallet(pledge.funder_org_id, bonus.currency).id,
            amount=share,
            kind=kinds.BONUS_PAID,
            meta={
                "bonus_id": str(bonus.id),
                "pledge_id": str(pledge.id),
                "memo": "assurance bonus: a threshold was missed",
                **chart.pledge_privacy(pledge),
            },
        )
        bonus.remaining -= share
        paid += share
        await emit(
            session,
            "bonus.paid",
            bonus_data(bonus, pledge_id=str(pledge.id), amount=share),
            orgs=[pledge.funder_org_id, bonus.sponsor_org_id],
        )
    await session.flush()
    return paid


async def return_remaining(session: AsyncSession, challenge: Challenge, reason: str) -> int:
    """The challenge completed or was cancelled (`reason`): what each bonus still holds goes back to
    its sponsor's wallet (the caller holds the challenge's lock). Returns the total."""
    ledger = Ledger(session)
    returned = 0
    for bonus in await BonusRepository(session).active_under_lock(challenge.id):
        account = chart.bonus_account(bonus.id, bonus.currency)
        held = (await ledger.balance(account.id)).credit_balance
        invariant(held == bonus.remaining, f"bonus {bonus.id} holds {held}, not {bonus.remaining}")
        if held > 0:
            await ledger.transfer(
                entry_id=derived_id(bonus.id, "return"),
                debit_account_id=account.id,
                credit_account_id=chart.wallet(bonus.sponsor_org_id, bonus.currency).id,
                amount=held,
                kind=kinds.BONUS_RETURN,
                meta={"bonus_id": str(bonus.id), "memo": "assurance bonus returned"},
            )
        bonus.remaining, bonus.status = 0, "returned"
        returned += held
        await emit(
            session,
            "bonus.returned",
            bonus_data(bonus, returned=held, reason=reason),
            orgs=[bonus.sponsor_org_id],
        )
    await session.flush()
    return returned


async def list_bonuses(session: AsyncSession, challenge_id: uuid.UUID) -> list[AssuranceBonus]:
    """A challenge's bonuses, oldest first (public: what is on offer is the point)."""
    await ChallengeRepository(session).get(challenge_id)
    return await BonusRepository(session).of_challenge(challenge_id)
