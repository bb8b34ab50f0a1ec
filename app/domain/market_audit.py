"""The market's own books checked against the ledger: what must hold whatever happened.

The ledger proves its entries balance; these checks prove the market never left money where
its rules say there can be none, and that what the market shows equals the ledger:

- `ended_pledge_holds_money`: a released, expired or refunded pledge's account is empty
  and reserves nothing (escrow coming back to it later passes on to the wallet);
- `pledge_hold_mismatch`: a pledge reserves money exactly when it names an open hold, and a
  pledge still `held` has had nothing posted;
- `ended_milestone_holds_escrow`: a paid, failed, not achieved or cancelled milestone holds
  no escrow, its verifier fees' escrow included;
- `escrow_differs_from_award`: an awarded or claimed milestone's escrow is its award, and
  so is a verified one waiting out its dispute window (`payout_pending`, `disputed`);
- `challenge_totals_differ`: a challenge's available, allocated and held money, as shown
  (from the flow rollup and the pledges' holds), equals its pledge and escrow accounts in
  the ledger;
- `round_escrow_differs`: an open matching round's escrow holds exactly its pool, a closed
  one's nothing (every cent placed as a pledge or returned to the sponsor).
- `bonus_remaining_differs`: an assurance bonus's `remaining` is what its account holds;
- `ended_challenge_holds_bonus`: a completed or cancelled challenge's bonuses hold nothing
  and are `returned`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.flows import totals as flow_totals
from app.domain.store.bids import BidRepository
from app.domain.store.bonuses import BonusRepository
from app.domain.store.challenges import ChallengeRepository
from app.domain.store.milestones import MilestoneRepository
from app.domain.store.pledges import ENDED_STATUSES, PledgeRepository
from app.domain.store.rounds import RoundRepository
from app.ledger import Balance, Ledger

ENDED_CHALLENGES = ("completed", "cancelled")
ENDED_MILESTONES = ("paid", "failed", "cancelled", "not_achieved")
ESCROWED_MILESTONES = ("awarded", "claimed", "payout_pending", "disputed")

Violation = dict[str, Any]


def _ids(owner_ref: str) -> list[uuid.UUID]:
    return [uuid.UUID(part) for part in owner_ref.split(":")[1:]]


async def _pledge_checks(
    session: AsyncSession, ledger: Ledger
) -> tuple[list[Violation], dict[uuid.UUID, Balance]]:
    pledges = {p.id: p for p in await PledgeRepository(session).every()}
    balances = {_ids(ref)[0]: bal for ref, _, bal in await ledger.nonzero_of_code("pledge")}
    violations: list[Violation] = []
    for pledge_id, pledge in sorted(pledges.items()):
        balance = balances.get(pledge_id, Balance())
        holds = balance.credits_pending > 0
        if pledge.status in ENDED_STATUSES and (balance.credit_balance or holds):
            violations.append(
                {
                    "check": "ended_pledge_holds_money",
                    "row": [str(pledge_id), pledge.status, balance.credit_balance],
                }
            )
        if holds != (pledge.hold_entry_id is not None) or (
            pledge.status == "held" and balance.credits_posted
        ):
            violations.append(
                {
                    "check": "pledge_hold_mismatch",
                    "row": [str(pledge_id), pledge.status, balance.credits_pending],
                }
            )
    return violations, balances


async def _milestone_checks(
    session: AsyncSession, ledger: Ledger
) -> tuple[list[Violation], dict[uuid.UUID, int]]:
    escrow: dict[uuid.UUID, int] = defaultdict(int)
    for ref, _, balance in await ledger.nonzero_of_code("escrow"):
        escrow[_ids(ref)[0]] += balance.credit_balance
    fee_escrow: dict[uuid.UUID, int] = defaultdict(int)
    for ref, _, balance in await ledger.nonzero_of_code("fee_escrow"):
        fee_escrow[_ids(ref)[0]] += balance.credit_balance
    milestones = await MilestoneRepository(session).in_states(
        ENDED_MILESTONES + ESCROWED_MILESTONES
    )
    awards = await BidRepository(session).amounts_of(
        [m.awarded_bid_id for m in milestones if m.awarded_bid_id is not None]
    )
    violations: list[Violation] = []
    for milestone in sorted(milestones, key=lambda m: m.id):
        held = escrow.get(milestone.id, 0)
        fees_held = fee_escrow.get(milestone.id, 0)
        if milestone.status in ENDED_MILESTONES and (held or fees_held):
            violations.append(
                {
                    "check": "ended_milestone_holds_escrow",
                    "row": [str(milestone.id), milestone.status, held, fees_held],
                }
            )
        award = awards.get(milestone.awarded_bid_id) if milestone.awarded_bid_id else None
        if milestone.status in ESCROWED_MILESTONES and held != award:
            violations.append(
                {"check": "escrow_differs_from_award", "row": [str(milestone.id), held, award]}
            )
    for milestone_id, fees_held in fee_escrow.items():
        escrow[milestone_id] += fees_held  # allocated to the milestone, as its award is
    return violations, escrow


async def _totals_checks(
    session: AsyncSession,
    pledge_balances: dict[uuid.UUID, Balance],
    escrow: dict[uuid.UUID, int],
) -> list[Violation]:
    owners = await PledgeRepository(session).owners()
    milestone_challenges = await MilestoneRepository(session).challenge_of_each()
    expected: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0, 0])
    for pledge_id, balance in pledge_balances.items():
        owner = owners.get(pledge_id)
        if owner is not None:
            expected[owner.challenge_id][0] += balance.credit_balance
            expected[owner.challenge_id][2] += balance.credits_pending
    for milestone_id, held in escrow.items():
        challenge_id = milestone_challenges.get(milestone_id)
        if challenge_id is not None:
            expected[challenge_id][1] += held
    ids = await ChallengeRepository(session).every_id()
    shown = await flow_totals.totals_of(session, ids)
    violations = []
    for challenge_id in ids:
        totals = shown[challenge_id]
        ledger_side = expected.get(challenge_id, [0, 0, 0])
        if [totals.available, totals.allocated, totals.held] != ledger_side:
            violations.append(
                {
                    "check": "challenge_totals_differ",
                    "row": [
                        str(challenge_id),
                        [totals.available, totals.allocated, totals.held],
                        ledger_side,
                    ],
                }
            )
    return violations


async def _round_checks(session: AsyncSession, ledger: Ledger) -> list[Violation]:
    held = {_ids(ref)[0]: bal for ref, _, bal in await ledger.nonzero_of_code("round")}
    violations = []
    for round_id, status, pool in await RoundRepository(session).every_pool():
        balance = held.pop(round_id, Balance())
        expected = pool if status == "open" else 0
        if balance.credit_balance != expected or balance.credits_pending:
            violations.append(
                {"check": "round_escrow_differs", "row": [str(round_id), status, expected]}
            )
    violations += [
        {"check": "round_escrow_differs", "row": [str(round_id), "unknown", 0]}
        for round_id in sorted(held)
    ]
    return violations


async def _bonus_checks(session: AsyncSession, ledger: Ledger) -> list[Violation]:
    held = {
        _ids(ref)[0]: bal.credit_balance for ref, _, bal in await ledger.nonzero_of_code("bonus")
    }
    violations: list[Violation] = []
    for bonus, challenge_status in await BonusRepository(session).every_with_challenge_status():
        balance = held.get(bonus.id, 0)
        if balance != bonus.remaining:
            violations.append(
                {
                    "check": "bonus_remaining_differs",
                    "row": [str(bonus.id), bonus.remaining, balance],
                }
            )
        if challenge_status in ENDED_CHALLENGES and (balance or bonus.status != "returned"):
            violations.append(
                {
                    "check": "ended_challenge_holds_bonus",
                    "row": [str(bonus.id), challenge_status, bonus.status, balance],
                }
            )
    return violations


async def violations(session: AsyncSession, *, with_totals: bool = True) -> list[Violation]:
    """Every breach of the market's invariants (empty: the books hold). Totals come from
    the flow rollup: when the rollup itself differs from the journal (reported on its own),
    `with_totals=False` keeps one cause from being reported twice."""
    ledger = Ledger(session)
    pledge_violations, pledge_balances = await _pledge_checks(session, ledger)
    milestone_violations, escrow = await _milestone_checks(session, ledger)
    totals_violations = (
        await _totals_checks(session, pledge_balances, escrow) if with_totals else []
    )
    round_violations = await _round_checks(session, ledger)
    bonus_violations = await _bonus_checks(session, ledger)
    return (
        pledge_violations
        + milestone_violations
        + totals_violations
        + round_violations
        + bonus_violations
    )
