"""The host fee: a fiscal host's share of every pledge's money as it commits to the pool.

A challenge's `host_fee_bps` (0 to 2,000) is taken each time a pledge commits money to the
challenge: a direct pledge, a threshold pledge met, a match pledge's draw. floor(amount x
bps / 10,000) moves from the pledge's account to the host's wallet (`host_org_id`, default
the steward) in the same transaction, as its own entry derived from the pledge and the step
(so a retried step is the same entry). The pledge's `available` is net of it; the pledge
shows it as `fees`. A rollover moves money that already paid its way in, and pays none.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events.publish import emit
from app.domain.flows import record as record_flow
from app.domain.money import chart, kinds
from app.domain.pledges.rules import BPS
from app.domain.store.challenges import Challenge
from app.domain.store.pledges import Pledge
from app.ledger import Ledger, derived_id

MAX_HOST_FEE_BPS = 2_000
_TAKEN_KEY = "tributary_host_fees"  # session.info: pledge id -> host fees this unit of work


def taken(session: AsyncSession, pledge_id: uuid.UUID) -> int:
    """The host fees taken from this pledge in this unit of work (what the write knows)."""
    found: dict[uuid.UUID, int] = session.info.get(_TAKEN_KEY, {})
    return found.get(pledge_id, 0)


def host_fee(amount: int, bps: int) -> int:
    """floor(amount x bps / 10,000): never more than the amount, never a fraction of a cent."""
    if amount < 0 or not 0 <= bps <= BPS:
        raise ValueError("a non-negative amount and 0 to 10,000 basis points are required")
    return amount * bps // BPS


async def take(ledger: Ledger, challenge: Challenge, pledge: Pledge, amount: int, step: str) -> int:
    """Move the host's share of `amount`, just committed by the pledge, to the host's wallet
    (the caller holds the challenge's lock and the pledge's). Returns the fee."""
    fee = host_fee(amount, challenge.host_fee_bps)
    if fee == 0:
        return 0
    host = challenge.host_org_id or challenge.steward_org_id
    await ledger.transfer(
        entry_id=derived_id(pledge.id, f"host_fee:{step}"),
        debit_account_id=chart.pledge_account(pledge.id, pledge.currency).id,
        credit_account_id=chart.wallet(host, pledge.currency).id,
        amount=fee,
        kind=kinds.HOST_FEE,
        meta={
            "pledge_id": str(pledge.id),
            "challenge_id": str(challenge.id),
            "host_org_id": str(host),
            "memo": f"host fee of challenge {challenge.id}",
        },
    )
    await record_flow.host_fee(ledger.session, pledge, host, fee)
    in_this_write = ledger.session.info.setdefault(_TAKEN_KEY, {})
    in_this_write[pledge.id] = in_this_write.get(pledge.id, 0) + fee
    await emit(
        ledger.session,
        "fee.paid",
        {
            "challenge_id": str(challenge.id),
            "pledge_id": str(pledge.id),
            "host_org_id": str(host),
            "amount": fee,
            "currency": pledge.currency,
            "fee": "host",
        },
        orgs=[host],
    )
    return fee
