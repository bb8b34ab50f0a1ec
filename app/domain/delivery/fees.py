"""Verifier fees: what verification costs, escrowed from the pool and paid per attestation.

A milestone's `verifier_fee` is owed to each assigned verifier that attests (any verdict,
counted or not), once per milestone. When verifiers are assigned (or replaced), the fee of
every assigned verifier not paid yet must wait in fee escrow: the difference moves from the
milestone's eligible pledges, pro rata to their available money as an award draws (409
`insufficient_funds` and nothing changes if they are short), or, when fewer fees are owed
than held, back to them. An attestation pays its verifier's fee from the fee escrow, pro
rata to the pledges' positions, so every fee is traced to the pledges that paid it. When
the milestone ends (paid, not achieved, failed, cancelled), the fees of verifiers that never
attested return to their pledges (an ended pledge passes them on to its funder's wallet).
So fee escrow = fee x (assigned verifiers not yet paid) until the milestone ends, then 0.

Dispute panels follow the same rules: appointing a panel escrows the verifier fee of each
member not yet paid on that dispute from the same pledges (409 `insufficient_funds` if
short: the panel is not appointed), each member that attests is paid it, and what is left
returns when the dispute's milestone ends (it always does when the dispute is decided).
Whoever is paid for judging, the funders who pooled for the outcome pay for checking it.

Fee escrow is one account per (milestone, pledge) (`fee_escrow`), moved under the
challenge's and the milestone's locks, pledges locked before any ledger account.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.delivery import fee_rules
from app.domain.delivery.eligibility import fundable
from app.domain.delivery.movements import chunked, post_parts
from app.domain.errors import InsufficientFunds
from app.domain.events.publish import emit
from app.domain.flows import record as record_flow
from app.domain.money import chart, kinds
from app.domain.money.currency import spoken
from app.domain.pledges import settlement
from app.domain.store.challenges import Challenge, ChallengeRepository
from app.domain.store.claims import ClaimRepository
from app.domain.store.disputes import Dispute, DisputeRepository
from app.domain.store.milestones import Milestone
from app.domain.store.pledges import Pledge, PledgeRepository
from app.ledger import Ledger, Posting, derived_id


async def held_of(
    session: AsyncSession, milestone: Milestone, currency: str
) -> list[tuple[uuid.UUID, int]]:
    """(pledge id, fee escrow) of every pledge with money in the milestone's fee escrow."""
    pledge_ids = await PledgeRepository(session).ids_of_challenge(milestone.challenge_id)
    accounts = {pid: chart.fee_escrow_account_id(milestone.id, pid, currency) for pid in pledge_ids}
    balances = await Ledger(session).balances(accounts.values())
    return sorted(
        (pid, balances[account].credit_balance)
        for pid, account in accounts.items()
        if account in balances and balances[account].credit_balance > 0
    )


def _payment_id(milestone: Milestone, org_id: uuid.UUID) -> uuid.UUID:
    return derived_id(milestone.id, f"verifier_fee:{org_id}")


def _panel_payment_id(milestone: Milestone, dispute: Dispute, org_id: uuid.UUID) -> uuid.UUID:
    return derived_id(milestone.id, f"panel_fee:{dispute.id}:{org_id}")


async def _paid_panel(session: AsyncSession, milestone: Milestone, dispute: Dispute) -> set[str]:
    """The panel members already paid their fee on this dispute."""
    ledger = Ledger(session)
    votes = await DisputeRepository(session).attestations_of(dispute.id)
    return {
        str(vote.verifier_org_id)
        for vote in votes
        if await ledger.get_entry(_panel_payment_id(milestone, dispute, vote.verifier_org_id))
        is not None
    }


async def _needed(session: AsyncSession, milestone: Milestone) -> int:
    """The fees still owed on the milestone: its assigned verifiers not yet paid, and the
    members of its open dispute's panel not yet paid."""
    fee = milestone.verifier_fee
    paid = await paid_verifiers(session, milestone)
    needed = fee_rules.fee_escrow_needed(fee, milestone.verifier_org_ids, paid)
    for dispute in await DisputeRepository(session).open_of(milestone.id):
        members = await _paid_panel(session, milestone, dispute)
        needed += fee_rules.fee_escrow_needed(fee, dispute.panel_org_ids, members)
    return needed


async def paid_verifiers(session: AsyncSession, milestone: Milestone) -> set[str]:
    """The verifiers already paid their fee on this milestone."""
    ledger = Ledger(session)
    attesters = await ClaimRepository(session).attesters_of_milestone(milestone.id)
    return {
        str(org)
        for org in attesters
        if await ledger.get_entry(_payment_id(milestone, org)) is not None
    }


async def escrow_fees(session: AsyncSession, challenge: Challenge, milestone: Milestone) -> None:
    """Bring the fee escrow to the fees of the assigned verifiers (and dispute panel
    members) not paid yet (the caller holds the challenge's and the milestone's locks and
    has set the verifiers or the panel)."""
    if milestone.verifier_fee == 0:
        return
    needed = await _needed(session, milestone)
    held = sum(amount for _, amount in await held_of(session, milestone, challenge.currency))
    if needed > held:
        await _draw_from_pledges(session, challenge, milestone, needed - held)
    elif needed < held:
        await _return(session, milestone, challenge.currency, held - needed, "reassigned")


async def _draw_from_pledges(
    session: AsyncSession, challenge: Challenge, milestone: Milestone, amount: int
) -> None:
    pledges, holding = await fundable(session, challenge, milestone)
    available = [(pid, balance) for pid, balance in holding if balance > 0]
    ledger = Ledger(session)
    total = sum(balance for _, balance in available)
    if total < amount:
        raise InsufficientFunds(
            f"Eligible pledges hold {spoken(total, challenge.currency)}; the verifiers' fees "
            f"need {spoken(amount, challenge.currency)} more in escrow.",
            available=total,
            requested=amount,
            currency=challenge.currency,
        )
    draws = fee_rules.draw(available, amount)
    parts = [
        [
            posting
            for pid, part in chunk
            for posting in (
                Posting.debit_of(chart.pledge_account_id(pid, challenge.currency), part),
                Posting.credit_of(
                    chart.fee_escrow_account(milestone.id, pid, challenge.currency).id, part
                ),
            )
        ]
        for chunk in chunked(sorted(draws.items()))
    ]
    meta = {"milestone_id": str(milestone.id), "reason": "verifiers assigned"}
    await post_parts(ledger, uuid.uuid4(), kinds.FEE_ESCROW, parts, meta)
    await record_flow.allocated(session, challenge.id, challenge.currency, milestone.id, amount)
    _mark_drained(pledges, dict(available), draws)


def _mark_drained(
    pledges: list[Pledge], available: dict[uuid.UUID, int], draws: dict[uuid.UUID, int]
) -> None:
    for pledge in pledges:
        drained = pledge.id in draws and draws[pledge.id] == available.get(pledge.id)
        if drained and pledge.hold_entry_id is None:
            pledge.status = "exhausted"


async def pay_fee(
    session: AsyncSession,
    challenge: Challenge,
    milestone: Milestone,
    org_id: uuid.UUID,
    dispute: Dispute | None = None,
) -> int:
    """Pay the attesting verifier (or, with `dispute`, panel member) its fee, once per
    milestone (per dispute), from the fee escrow; nothing if there is no fee or the
    milestone's fees were already settled. Returns what it paid."""
    ledger = Ledger(session)
    entry_id = (
        _payment_id(milestone, org_id)
        if dispute is None
        else _panel_payment_id(milestone, dispute, org_id)
    )
    if milestone.verifier_fee == 0 or await ledger.get_entry(entry_id) is not None:
        return 0
    held = await held_of(session, milestone, challenge.currency)
    if sum(amount for _, amount in held) < milestone.verifier_fee:
        return 0
    draws = fee_rules.draw(held, milestone.verifier_fee)
    wallet = chart.wallet(org_id, challenge.currency).id
    parts = [
        [
            *(
                Posting.debit_of(
                    chart.fee_escrow_account_id(milestone.id, pid, challenge.currency), part
                )
                for pid, part in chunk
            ),
            Posting.credit_of(wallet, sum(part for _, part in chunk)),
        ]
        for chunk in chunked(sorted(draws.items()))
    ]
    meta = {"milestone_id": str(milestone.id), "verifier_org_id": str(org_id)}
    if dispute is not None:
        meta["dispute_id"] = str(dispute.id)
    await post_parts(ledger, entry_id, kinds.FEE_PAYMENT, parts, meta)
    await record_flow.fee_paid(
        session, challenge.id, challenge.currency, milestone.id, org_id, milestone.verifier_fee
    )
    steward = await ChallengeRepository(session).steward_of(challenge.id)
    await emit(
        session,
        "fee.paid",
        {
            "milestone_id": str(milestone.id),
            "challenge_id": str(challenge.id),
            "verifier_org_id": str(org_id),
            "amount": milestone.verifier_fee,
            "currency": challenge.currency,
        },
        orgs=[org for org in (org_id, steward) if org is not None],
    )
    return milestone.verifier_fee


async def release_fees(
    session: AsyncSession, milestone: Milestone, currency: str, occasion: str
) -> None:
    """The milestone ended: the fees of verifiers that never attested return to the pledges."""
    held = sum(amount for _, amount in await held_of(session, milestone, currency))
    if held:
        await _return(session, milestone, currency, held, occasion)


async def _return(
    session: AsyncSession, milestone: Milestone, currency: str, amount: int, occasion: str
) -> None:
    """`amount` of fee escrow back to its pledges, pro rata to their positions."""
    held = await held_of(session, milestone, currency)
    draws = fee_rules.draw(held, amount)
    pledges = await PledgeRepository(session).lock_ids(milestone.challenge_id, list(draws))
    parts = [
        [
            posting
            for pid, part in chunk
            for posting in (
                Posting.debit_of(chart.fee_escrow_account_id(milestone.id, pid, currency), part),
                Posting.credit_of(chart.pledge_account_id(pid, currency), part),
            )
        ]
        for chunk in chunked(sorted(draws.items()))
    ]
    ledger = Ledger(session)
    meta = {"milestone_id": str(milestone.id), "reason": occasion}
    await post_parts(ledger, uuid.uuid4(), kinds.FEE_RETURN, parts, meta)
    await record_flow.allocated(session, milestone.challenge_id, currency, milestone.id, -amount)
    await settlement.refund_ended(ledger, pledges, f"{milestone.id}:fees:{occasion}")
