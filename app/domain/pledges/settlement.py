"""How pledge money moves: matching, thresholds, releases, refunds.

Every movement is a ledger entry written in the caller's transaction. Entry ids derive from
the pledge and the step (`step_id`), so a step retried or raced by another process is the
same entry, never a second movement. Callers hold the challenge's row lock and have locked
the pledges they move (store.locks), so the balances read here cannot change before the
entries that act on them are written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import invariant
from app.domain.flows import record as record_flow
from app.domain.money import chart, kinds
from app.domain.pledges import host_fee
from app.domain.pledges.announce import announce
from app.domain.pledges.rules import (
    MatchPledge,
    ThresholdPledge,
    match_draw,
    threshold_fixed_point,
)
from app.domain.store import locks
from app.domain.store.challenges import Challenge
from app.domain.store.pledges import ENDED_STATUSES, Pledge, PledgeRepository
from app.ledger import Ledger, derived_id

Contribution = tuple[uuid.UUID, int]  # (funder org id, amount) of new money in a challenge


def step_id(pledge_id: uuid.UUID, step: str) -> uuid.UUID:
    return derived_id(pledge_id, step)


async def _accounts(ledger: Ledger, pledge: Pledge) -> tuple[uuid.UUID, uuid.UUID]:
    wallet = chart.wallet(pledge.funder_org_id, pledge.currency)
    account = chart.pledge_account(pledge.id, pledge.currency)
    return wallet.id, account.id


async def _held_by(ledger: Ledger, pledges: Sequence[Pledge]) -> dict[uuid.UUID, int]:
    """What each of these pledges holds now (its open hold), in one read."""
    ids = {p.id: chart.pledge_account_id(p.id, p.currency) for p in pledges}
    balances = await ledger.balances(ids.values())
    return {
        pledge_id: balances[account_id].credits_pending if account_id in balances else 0
        for pledge_id, account_id in ids.items()
    }


async def _draw_match(
    ledger: Ledger,
    challenge: Challenge,
    pledge: Pledge,
    contribution: Contribution,
    held: dict[uuid.UUID, int],
) -> int:
    """Post what a match pledge owes for one contribution (nothing for its own funder's
    money: a funder never matches itself); re-hold the rest of its cap. `held` is what
    each pledge holds, kept current here as draws shrink it."""
    funder, amount = contribution
    if pledge.hold_entry_id is None or pledge.match_ratio_bps is None:
        return 0
    if funder == pledge.funder_org_id:
        return 0
    wallet_id, account_id = await _accounts(ledger, pledge)
    remaining = held[pledge.id]
    drawn = match_draw(amount, pledge.match_ratio_bps, remaining)
    if drawn == 0:
        return 0
    sequence = pledge.hold_sequence
    await ledger.post_pending(
        entry_id=step_id(pledge.id, f"draw:{sequence}"),
        pending_id=pledge.hold_entry_id,
        amount=drawn,
        kind=kinds.MATCH_DRAW,
        meta={"pledge_id": str(pledge.id)},
    )
    await record_flow.pledged(ledger.session, pledge, drawn)
    await host_fee.take(ledger, challenge, pledge, drawn, f"draw:{sequence}")
    rest = remaining - drawn
    held[pledge.id] = rest
    pledge.hold_entry_id = None
    if rest > 0:
        hold = step_id(pledge.id, f"hold:{sequence + 1}")
        await ledger.hold(
            entry_id=hold,
            debit_account_id=wallet_id,
            credit_account_id=account_id,
            amount=rest,
            kind=kinds.MATCH_HOLD,
            meta={"pledge_id": str(pledge.id), **chart.pledge_privacy(pledge)},
        )
        pledge.hold_entry_id, pledge.hold_sequence = hold, sequence + 1
    pledge.status = "active"
    await announce(ledger.session, "pledge.drawn", pledge, drawn=drawn)
    return drawn


async def _committed(ledger: Ledger, pledges: Sequence[Pledge]) -> int:
    """Money posted into the challenge's live pledges (drawn, met, direct)."""
    ids = [chart.pledge_account_id(p.id, p.currency) for p in pledges]
    return sum(b.credits_posted for b in (await ledger.balances(ids)).values())


def _undrawn(matches: Sequence[Pledge], held: dict[uuid.UUID, int]) -> list[MatchPledge]:
    """The match pledges that can still draw, with what is left of their caps."""
    return [
        MatchPledge(str(m.id), str(m.funder_org_id), m.match_ratio_bps or 0, held[m.id])
        for m in matches
        if m.hold_entry_id is not None and m.match_ratio_bps
    ]


async def settle(
    session: AsyncSession, challenge: Challenge, contributions: list[Contribution]
) -> None:
    """New money arrived: match pledges draw on it, then threshold pledges that are now met
    (the greatest fixed point over thresholds and the match money meeting them would draw)
    are posted, which is new money again, until nothing changes."""
    ledger = Ledger(session)
    repository = PledgeRepository(session)
    holding = await repository.lock_holding(challenge.id)
    if not holding:
        await session.flush()
        return
    matches = [p for p in holding if p.kind == "match"]
    held = await _held_by(ledger, matches)
    for _ in range(len(holding) + 1):
        for contribution in contributions:
            for match in matches:
                await _draw_match(ledger, challenge, match, contribution, held)
        waiting = [p for p in holding if p.kind == "threshold" and p.status == "held"]
        if not waiting:
            break
        met = threshold_fixed_point(
            await _committed(ledger, await repository.lock_live(challenge.id)),
            [
                ThresholdPledge(str(p.id), p.amount, p.threshold_amount or 0, str(p.funder_org_id))
                for p in waiting
            ],
            _undrawn(matches, held),
        )
        if not met:
            break
        contributions = []
        for pledge in waiting:
            if str(pledge.id) in met and pledge.hold_entry_id is not None:
                await ledger.post_pending(
                    entry_id=step_id(pledge.id, "met"),
                    pending_id=pledge.hold_entry_id,
                    kind=kinds.THRESHOLD_MET,
                    meta={"pledge_id": str(pledge.id)},
                )
                await record_flow.pledged(session, pledge, pledge.amount)
                await host_fee.take(ledger, challenge, pledge, pledge.amount, "met")
                pledge.hold_entry_id, pledge.status = None, "active"
                await announce(session, "pledge.met", pledge)
                contributions.append((pledge.funder_org_id, pledge.amount))
    await session.flush()


async def release_hold(ledger: Ledger, pledge: Pledge, reason: str) -> bool:
    """Void what the pledge still holds; a pledge that never posted anything is released.
    True if there was a hold to void."""
    voided = pledge.hold_entry_id is not None
    if pledge.hold_entry_id is not None:
        await ledger.void_pending(
            entry_id=step_id(pledge.id, f"{reason}:{pledge.hold_sequence}"),
            pending_id=pledge.hold_entry_id,
            kind=kinds.PLEDGE_RELEASE,
            meta={"pledge_id": str(pledge.id), "reason": reason},
        )
        pledge.hold_entry_id = None
    account_id = chart.pledge_account_id(pledge.id, pledge.currency)
    if (await ledger.balance(account_id)).credits_posted == 0:
        pledge.status = "released"
    return voided


async def return_available(
    ledger: Ledger, pledge: Pledge, kind: str, step: str | None = None
) -> int:
    """Move all the pledge's unallocated money back to the funder's wallet; `step` names
    the occasion when a pledge can be refunded more than once (escrow coming back later).

    The amount is read here, under the challenge's lock (which the caller holds, with the
    pledge's), so it is exactly what the pledge holds when the entry is written."""
    invariant(
        locks.holds_challenge(ledger.session, pledge.challenge_id),
        f"pledge {pledge.id}'s money moved without its challenge's lock",
    )
    wallet_id, account_id = await _accounts(ledger, pledge)
    available = (await ledger.balance(account_id)).credit_balance
    if available > 0:
        await ledger.transfer(
            entry_id=step_id(pledge.id, step or kind),
            debit_account_id=account_id,
            credit_account_id=wallet_id,
            amount=available,
            kind=kind,
            meta={
                "pledge_id": str(pledge.id),
                "memo": "returned from a pledge",
                **chart.pledge_privacy(pledge),
            },
        )
        await record_flow.returned(ledger.session, pledge, available)
    return available


async def assert_empty(ledger: Ledger, pledge: Pledge) -> None:
    """An ended pledge holds nothing: no available money and no hold."""
    balance = await ledger.balance(chart.pledge_account_id(pledge.id, pledge.currency))
    invariant(
        balance.credit_balance == 0 and balance.credits_pending == 0,
        f"pledge {pledge.id} is {pledge.status} but holds {balance.credit_balance} "
        f"and {balance.credits_pending} held",
    )


async def release_held(session: AsyncSession, challenge: Challenge) -> None:
    """At close: match pledges release their undrawn caps, unmet thresholds are released."""
    ledger = Ledger(session)
    for pledge in await PledgeRepository(session).lock_live(challenge.id):
        if await release_hold(ledger, pledge, "close"):
            await announce(session, "pledge.released", pledge, reason="challenge closed")
    await session.flush()


async def refund_all(session: AsyncSession, challenge: Challenge) -> None:
    """At cancellation: every held cent is released and every unspent cent returned."""
    ledger = Ledger(session)
    for pledge in await PledgeRepository(session).lock_live(challenge.id):
        voided = await release_hold(ledger, pledge, "cancel")
        returned = await return_available(ledger, pledge, kinds.PLEDGE_REFUND)
        if returned > 0:
            pledge.status = "refunded"
            await announce(session, "pledge.refunded", pledge, returned=returned)
        elif voided:
            await announce(session, "pledge.released", pledge, reason="challenge cancelled")
        if pledge.status in ENDED_STATUSES:
            await assert_empty(ledger, pledge)
    await session.flush()


async def refund_ended(ledger: Ledger, pledges: Sequence[Pledge], occasion: str) -> None:
    """Escrow came back to these (locked) pledges: those that have ended meanwhile (expired,
    refunded, released) pass it straight on to their funders' wallets, so no cent is ever
    stranded in a pledge nobody can use."""
    for pledge in sorted(pledges, key=lambda p: p.id):
        if pledge.status not in ENDED_STATUSES:
            continue
        kind = kinds.PLEDGE_EXPIRY_REFUND if pledge.status == "expired" else kinds.PLEDGE_REFUND
        returned = await return_available(ledger, pledge, kind, f"{kind}:{occasion}")
        await assert_empty(ledger, pledge)
        await announce(
            ledger.session, "pledge.refunded", pledge, returned=returned, reason="escrow returned"
        )


async def _roll_into(
    ledger: Ledger, pledge: Pledge, target: Challenge, held: int, available: int
) -> Pledge:
    """A new direct pledge of the same funder on `target` with the pledge's remainder: its
    available money moves pledge to pledge, what it held (released just before) leaves the
    wallet again. Returns the successor; the caller settles the target."""
    session = ledger.session
    successor = Pledge(
        id=step_id(pledge.id, "completion-rollover"),
        challenge_id=target.id,
        funder_org_id=pledge.funder_org_id,
        kind="direct",
        amount=held + available,
        currency=pledge.currency,
        status="active",
        earmark_milestone_ids=[],
        earmark_sdg_targets=[],
        on_expiry="refund",
        on_completion="refund",
        anonymous=pledge.anonymous,
        hold_sequence=0,
    )
    PledgeRepository(session).add(successor)
    wallet_id, account_id = await _accounts(ledger, pledge)
    successor_account = chart.pledge_account(successor.id, successor.currency)
    moves = [(account_id, available, kinds.PLEDGE_ROLLOVER), (wallet_id, held, kinds.PLEDGE)]
    for source, amount, kind in moves:
        if amount > 0:
            await ledger.transfer(
                entry_id=step_id(pledge.id, f"completion-rollover:{kind}"),
                debit_account_id=source,
                credit_account_id=successor_account.id,
                amount=amount,
                kind=kind,
                meta={
                    "pledge_id": str(successor.id),
                    "from_pledge_id": str(pledge.id),
                    **chart.pledge_privacy(successor),
                },
            )
    if available:
        await record_flow.rolled_over(session, pledge, available)
    await record_flow.pledged(session, successor, held + available)
    pledge.rolled_into_pledge_id = successor.id
    await session.flush()
    await announce(session, "pledge.created", successor, rolled_from=str(pledge.id))
    return successor


async def settle_completion(
    session: AsyncSession, challenge: Challenge, targets: dict[uuid.UUID, Challenge]
) -> None:
    """At completion: every pledge's remainder (available and held) goes where its
    `on_completion` says, at once: back to the funder's wallet, or into a new direct pledge
    of the funder on its rollover challenge when that is open in the same currency (else
    back to the wallet). `targets` are the rollover challenges, locked by the caller."""
    ledger = Ledger(session)
    for pledge in await PledgeRepository(session).lock_live(challenge.id):
        balance = await ledger.balance(chart.pledge_account_id(pledge.id, pledge.currency))
        held, available = balance.credits_pending, balance.credit_balance
        target = targets.get(pledge.rollover_challenge_id) if pledge.rollover_challenge_id else None
        rolls = (
            pledge.on_completion == "rollover"
            and target is not None
            and target.status == "open"
            and target.currency == pledge.currency
            and held + available > 0
        )
        voided = await release_hold(ledger, pledge, "completion")
        if rolls:
            assert target is not None
            successor = await _roll_into(ledger, pledge, target, held, available)
            if pledge.status != "released":
                pledge.status = "exhausted"
            await settle(session, target, [(successor.funder_org_id, successor.amount)])
        else:
            returned = await return_available(ledger, pledge, kinds.PLEDGE_REFUND)
            if returned > 0:
                pledge.status = "refunded"
                await announce(session, "pledge.refunded", pledge, returned=returned)
            elif voided:
                await announce(session, "pledge.released", pledge, reason="challenge completed")
        if pledge.status == "active":
            pledge.status = "exhausted"
        await assert_empty(ledger, pledge)
    await session.flush()
