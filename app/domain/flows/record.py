"""The write side of the rollup: each money movement adds to its flow, in its transaction.

Callers sit right beside the ledger call that moves the money; a missed or doubled call is
caught by `reconcile`, which rebuilds the same totals from the journal.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.flows import keys
from app.domain.flows.models import FlowTotal
from app.domain.store.pledges import Pledge
from app.sql.dialect import upsert_adding


async def add(
    session: AsyncSession,
    challenge_id: uuid.UUID,
    currency: str,
    source: str,
    target: str,
    amount: int,
) -> None:
    """Add `amount` (may be negative) to one flow: an upsert that is atomic per row."""
    if amount == 0:
        return
    table = FlowTotal.__table__
    assert isinstance(table, Table)
    row = {
        "challenge_id": challenge_id,
        "source": source,
        "target": target,
        "currency": currency,
        "amount": amount,
        "version": 1,
    }
    await session.execute(
        upsert_adding(
            session,
            table,
            row,
            key=["challenge_id", "source", "target"],
            column="amount",
            counter="version",
        )
    )


async def pledged(session: AsyncSession, pledge: Pledge, amount: int) -> None:
    """Money posted into a pledge from its funder's wallet (or rolled over into it)."""
    await add(
        session,
        pledge.challenge_id,
        pledge.currency,
        keys.funder(pledge.funder_org_id, pledge.anonymous),
        keys.challenge(pledge.challenge_id),
        amount,
    )


async def returned(session: AsyncSession, pledge: Pledge, amount: int) -> None:
    """Money given back from a pledge to its funder's wallet."""
    here = keys.challenge(pledge.challenge_id)
    await add(session, pledge.challenge_id, pledge.currency, here, keys.RETURNED, amount)


async def rolled_over(session: AsyncSession, pledge: Pledge, amount: int) -> None:
    """Money that left a pledge for a pledge of another challenge."""
    here = keys.challenge(pledge.challenge_id)
    await add(session, pledge.challenge_id, pledge.currency, here, keys.ROLLED_OVER, amount)


async def allocated(
    session: AsyncSession,
    challenge_id: uuid.UUID,
    currency: str,
    milestone_id: uuid.UUID,
    amount: int,
) -> None:
    """Money moved into a milestone's escrow (negative: escrow returned to the pledges)."""
    await add(
        session,
        challenge_id,
        currency,
        keys.challenge(challenge_id),
        keys.milestone(milestone_id),
        amount,
    )


async def host_fee(
    session: AsyncSession, pledge: Pledge, host_org_id: uuid.UUID, amount: int
) -> None:
    """The host's share of money a pledge committed to the challenge, out of that pledge."""
    here = keys.challenge(pledge.challenge_id)
    target = keys.host(host_org_id)
    await add(session, pledge.challenge_id, pledge.currency, here, target, amount)


async def fee_paid(
    session: AsyncSession,
    challenge_id: uuid.UUID,
    currency: str,
    milestone_id: uuid.UUID,
    org_id: uuid.UUID,
    amount: int,
) -> None:
    """A verifier's fee paid out of the milestone's fee escrow (which `allocated` counted
    into the milestone, like its award)."""
    source, target = keys.milestone(milestone_id), keys.verifier(org_id)
    await add(session, challenge_id, currency, source, target, amount)


async def paid(
    session: AsyncSession,
    challenge_id: uuid.UUID,
    currency: str,
    milestone_id: uuid.UUID,
    splits: Mapping[uuid.UUID, int],
) -> None:
    """A milestone's payout to the swarm's members (in a fixed order: no lock-order cycles)."""
    for org_id, amount in sorted(splits.items()):
        source, target = keys.milestone(milestone_id), keys.actor(org_id)
        await add(session, challenge_id, currency, source, target, amount)
