"""Use cases of pledges: pledge, read, list, cancel.

Each use case that moves money locks the challenge's row first (store.locks), so the pledges
of one challenge settle one transaction at a time (thresholds and matches depend on each
other), while different challenges proceed in parallel.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.errors import Forbidden, InvalidState, NotFound
from app.domain.flows import record as record_flow
from app.domain.identity.caller import Caller
from app.domain.money import chart, kinds
from app.domain.money.shortfall import wallet_short
from app.domain.pledges import host_fee, settlement
from app.domain.pledges.announce import announce
from app.domain.pledges.terms import (
    VERIFYING,
    PledgeSpec,
    check_funder_independent,
    check_terms,
    ratio_bps,
)
from app.domain.store.challenges import ChallengeRepository
from app.domain.store.pledges import Pledge, PledgeRepository
from app.ledger import Ledger, LimitExceeded
from app.sql.types import utcnow

__all__ = ["PledgeSpec", "cancel_pledge", "create_pledge", "get_pledge", "list_org_pledges"]

FUNDING_KINDS = {"direct": kinds.PLEDGE, "threshold": kinds.PLEDGE_HOLD, "match": kinds.MATCH_HOLD}


async def _fund(ledger: Ledger, pledge: Pledge) -> None:
    """The pledge's first movement: posted at once (direct) or held (threshold, match)."""
    wallet = chart.wallet(pledge.funder_org_id, pledge.currency)  # empty if never funded
    account = chart.pledge_account(pledge.id, pledge.currency)
    move = ledger.transfer if pledge.kind == "direct" else ledger.hold
    try:
        await move(
            entry_id=pledge.id,
            debit_account_id=wallet.id,
            credit_account_id=account.id,
            amount=pledge.amount,
            kind=FUNDING_KINDS[pledge.kind],
            meta={
                "pledge_id": str(pledge.id),
                "memo": f"pledge to challenge {pledge.challenge_id}",
                **chart.pledge_privacy(pledge),
            },
        )
    except LimitExceeded as error:
        raise wallet_short(
            error.available, pledge.amount, pledge.currency, "the pledge needs"
        ) from None
    if pledge.kind == "direct":
        await record_flow.pledged(ledger.session, pledge, pledge.amount)


async def create_pledge(
    session: AsyncSession, caller: Caller | None, challenge_id: uuid.UUID, spec: PledgeSpec
) -> Pledge:
    caller = policies.require_role(caller, "funder")
    assert caller.org_id is not None
    challenge, verifies = await ChallengeRepository(session).lock_for_funder(
        challenge_id, caller.org_id, VERIFYING
    )
    if challenge.status != "open":
        raise InvalidState("challenge", challenge_id, challenge.status, "pledged to")
    await check_terms(session, challenge, spec)
    check_funder_independent(challenge, verifies)
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
        match_ratio_bps=ratio_bps(spec.match_ratio) if spec.match_ratio is not None else None,
        earmark_milestone_ids=[str(m) for m in spec.earmark_milestone_ids],
        earmark_sdg_targets=sorted(set(spec.earmark_sdg_targets)),
        expires_at=spec.expires_at,
        on_expiry=spec.on_expiry,
        on_completion=spec.on_completion,
        rollover_challenge_id=spec.rollover_challenge_id,
        anonymous=spec.anonymous,
        created_at=utcnow(),
    )
    pledge.hold_entry_id = None if spec.kind == "direct" else pledge.id
    pledge.hold_sequence = 0
    await _fund(Ledger(session), pledge)
    PledgeRepository(session).add(pledge)
    await session.flush()
    if spec.kind == "direct":
        await host_fee.take(Ledger(session), challenge, pledge, pledge.amount, "direct")
    await announce(session, "pledge.created" if spec.kind == "direct" else "pledge.held", pledge)
    new_money = [(pledge.funder_org_id, pledge.amount)] if spec.kind == "direct" else []
    await settlement.settle(session, challenge, new_money)
    return pledge


async def get_pledge(session: AsyncSession, caller: Caller | None, pledge_id: uuid.UUID) -> Pledge:
    """The funder, the challenge's steward and the admin may read a pledge."""
    caller = policies.require_caller(caller)
    pledge = await PledgeRepository(session).get(pledge_id)
    if caller.is_admin or caller.is_org(pledge.funder_org_id):
        return pledge
    steward = await ChallengeRepository(session).steward_of(pledge.challenge_id)
    if steward is not None and caller.is_org(steward):
        return pledge
    raise NotFound("pledge", pledge_id)


def shows_funder(caller: Caller | None, pledge: Pledge) -> bool:
    """Anonymous pledges name their funder only to the funder and the admin."""
    if not pledge.anonymous:
        return True
    return caller is not None and (caller.is_admin or caller.is_org(pledge.funder_org_id))


async def list_org_pledges(
    session: AsyncSession,
    caller: Caller | None,
    org_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Pledge]:
    policies.ensure_can_manage_org(caller, org_id)
    return await PledgeRepository(session).page_of_funder(org_id, after=after, limit=limit)


async def cancel_pledge(
    session: AsyncSession, caller: Caller | None, pledge_id: uuid.UUID
) -> Pledge:
    """A funder withdraws a pledge that is only held: a threshold not yet met, a match not
    yet drawn. The hold is voided and the money is free in the wallet again."""
    found = await get_pledge(session, caller, pledge_id)
    assert caller is not None
    if not caller.is_org(found.funder_org_id):
        raise Forbidden("Only the funder may cancel a pledge.")
    await ChallengeRepository(session).lock(found.challenge_id)
    pledge = await PledgeRepository(session).lock(pledge_id, challenge_id=found.challenge_id)
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
