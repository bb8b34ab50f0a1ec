"""Closing a round: the pool is divided and each share becomes a direct pledge of the
sponsor; what cannot be placed goes back to the sponsor's wallet.

A round closes exactly once, whether its sponsor closes it (POST /v1/rounds/{id}/close) or
due work does at `ends_at`, in any number of processes: the round's row is locked (due
work skips a locked one), its status re-read under the lock, and its challenges locked in
ascending id order (due work without waiting, leaving a busy round for its next run). Every
ledger entry's id derives from the round, so even a repeated step could never move money
twice. What a share cannot reach (no challenge drew a contribution, a challenge is no
longer open, or the sponsor now verifies one of its milestones) returns to the sponsor.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.due_items import DUE_BATCH, Transactor, process_each
from app.domain.errors import Forbidden, InvalidState, invariant
from app.domain.events.publish import emit
from app.domain.flows import record as record_flow
from app.domain.identity.caller import Caller
from app.domain.money import chart, kinds
from app.domain.pledges import settlement
from app.domain.pledges.announce import announce
from app.domain.pledges.terms import VERIFYING
from app.domain.rounds import projection
from app.domain.rounds.accounts import round_escrow
from app.domain.store.challenges import Challenge, ChallengeRepository
from app.domain.store.pledges import Pledge, PledgeRepository
from app.domain.store.rounds import Round, RoundRepository
from app.ledger import Ledger, derived_id
from app.sql.types import utcnow


async def close_round(
    session: AsyncSession, caller: Caller | None, round_id: uuid.UUID
) -> projection.RoundView:
    """The sponsor closes its round now (before `ends_at`, or before due work does)."""
    caller = policies.require_org(caller)
    repository = RoundRepository(session)
    found = await repository.get(round_id)
    if not caller.is_org(found.sponsor_org_id):
        raise Forbidden("Only the round's sponsor may close it.")
    round_ = await repository.lock(round_id, wait=True)
    assert round_ is not None
    if round_.status != "open":
        raise InvalidState("round", round_id, round_.status, "closed again")
    listed = await repository.listed(round_id)
    challenges = await ChallengeRepository(session).lock_together(
        item.row.challenge_id for item in listed
    )
    await _divide(session, round_, challenges, utcnow())
    return projection.frozen(round_, await repository.listed(round_id))


async def close_due_rounds(database: Transactor, now: datetime) -> int:
    """Due work: open rounds whose `ends_at` has come are closed, each in its own
    transaction."""

    async def find(session: AsyncSession) -> list[uuid.UUID]:
        return await RoundRepository(session).due(now, DUE_BATCH)

    async def close(session: AsyncSession, round_id: uuid.UUID) -> bool:
        repository = RoundRepository(session)
        round_ = await repository.lock(round_id, wait=False)
        if round_ is None or round_.status != "open" or round_.ends_at > now:
            return False
        listed = await repository.listed(round_id)
        challenges = await ChallengeRepository(session).try_lock_together(
            item.row.challenge_id for item in listed
        )
        if challenges is None:
            return False
        await _divide(session, round_, challenges, now)
        return True

    return await process_each(database, find, close)


async def _divide(
    session: AsyncSession, round_: Round, challenges: dict[uuid.UUID, Challenge], now: datetime
) -> None:
    """Divide the pool of a locked open round over its locked challenges."""
    repository = RoundRepository(session)
    listed = await repository.listed(round_.id)
    ids = [item.row.challenge_id for item in listed]
    totals = await repository.contributions(round_, ids)
    conflicted = await repository.verified_by(ids, round_.sponsor_org_id, VERIFYING)
    placeable = {
        cid: challenges[cid].status == "open" and cid not in conflicted for cid in challenges
    }
    matches = projection.shares(round_, totals, placeable)
    ledger = Ledger(session)
    placed = 0
    for item in sorted(listed, key=lambda i: i.row.challenge_id):
        row, share = item.row, matches[item.row.challenge_id]
        row.contributors = len(totals[row.challenge_id])
        row.contributed = sum(totals[row.challenge_id].values())
        row.matched = share
        if share > 0:
            pledge = await _place(ledger, round_, challenges[row.challenge_id], share, now)
            row.pledge_id = pledge.id
            placed += share
    returned = round_.matching_pool - placed
    escrow = round_escrow(round_.id, round_.currency)
    if returned > 0:
        await ledger.transfer(
            entry_id=derived_id(round_.id, "return"),
            debit_account_id=escrow.id,
            credit_account_id=chart.wallet(round_.sponsor_org_id, round_.currency).id,
            amount=returned,
            kind=kinds.ROUND_RETURN,
            meta={"round_id": str(round_.id), "memo": f"unplaced pool of round {round_.name}"},
        )
    balance = await ledger.balance(escrow.id)
    invariant(balance.credit_balance == 0, f"round {round_.id} closed holding money")
    round_.status, round_.closed_at, round_.returned = "closed", now, returned
    await session.flush()
    await emit(
        session,
        "round.closed",
        {
            "round_id": str(round_.id),
            "currency": round_.currency,
            "matching_pool": round_.matching_pool,
            "returned": returned,
            "matches": [
                {"challenge_id": str(i.row.challenge_id), "matched": i.row.matched or 0}
                for i in listed
            ],
        },
        orgs=[round_.sponsor_org_id],
        public=True,
    )


async def _place(
    ledger: Ledger, round_: Round, challenge: Challenge, share: int, now: datetime
) -> Pledge:
    """The share as a direct pledge of the sponsor, funded from the round's escrow; it is
    new money for the challenge, so its match and threshold pledges settle on it."""
    session = ledger.session
    pledge = Pledge(
        id=derived_id(round_.id, f"match:{challenge.id}"),
        challenge_id=challenge.id,
        funder_org_id=round_.sponsor_org_id,
        kind="direct",
        amount=share,
        currency=round_.currency,
        status="active",
        earmark_milestone_ids=[],
        earmark_sdg_targets=[],
        on_expiry="refund",
        on_completion="refund",
        anonymous=False,
        hold_sequence=0,
        created_at=now,
    )
    PledgeRepository(session).add(pledge)
    await ledger.transfer(
        entry_id=pledge.id,
        debit_account_id=round_escrow(round_.id, round_.currency).id,
        credit_account_id=chart.pledge_account(pledge.id, pledge.currency).id,
        amount=share,
        kind=kinds.ROUND_MATCH,
        meta={
            "pledge_id": str(pledge.id),
            "round_id": str(round_.id),
            "memo": f"match of round {round_.name}",
        },
    )
    await record_flow.pledged(session, pledge, share)
    await session.flush()
    await announce(session, "pledge.created", pledge, round_id=str(round_.id))
    await settlement.settle(session, challenge, [(pledge.funder_org_id, share)])
    return pledge
