"""A bank statement's import: up to 1,000 deposits in one unit of work, all or none.

Set-based, so a thousand deposits cost a handful of statements rather than thousands: one
multi-row insert claims the new external_refs, one read finds the deposits that already
used the others, and the ledger writes every new entry in one batch (one round trip on
PostgreSQL). An item whose external_ref was used already, in an earlier import or earlier
in this one, returns that deposit and moves nothing, as a single deposit would.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import batches, policies
from app.domain.events.publish import emit
from app.domain.identity.caller import Caller
from app.domain.money import chart
from app.domain.money.currency import validate_currency
from app.domain.money.models import Deposit
from app.domain.money.service import (
    DEPOSITS,
    DepositResult,
    require_org,
    same_money,
    wallet_full,
)
from app.ledger import BalanceLimitExceeded, EntrySpec, Ledger, LedgerInvariantError, Posting
from app.sql.dialect import insert_ignoring_conflicts
from app.sql.types import utcnow


@dataclass(frozen=True)
class DepositItem:
    amount: int
    currency: str
    external_ref: str


def _records(org_id: uuid.UUID, items: Sequence[DepositItem]) -> list[Deposit]:
    """One deposit per item, currencies checked; a reference repeated within the batch must
    name the same money (it is then the same deposit)."""
    now = utcnow()
    first: dict[str, Deposit] = {}
    records = []
    for index, item in enumerate(items):
        with batches.item(index):
            record = Deposit(
                id=uuid.uuid4(),
                org_id=org_id,
                amount=item.amount,
                currency=validate_currency(item.currency),
                external_ref=item.external_ref,
                created_at=now,
            )
            record.entry_id = record.id
            if item.external_ref in first:
                record = same_money(first[item.external_ref], record)
            first.setdefault(item.external_ref, record)
        records.append(record)
    return records


async def _claim(session: AsyncSession, records: list[Deposit]) -> set[uuid.UUID]:
    """Insert the batch's distinct deposits; the ids of those whose reference was new.

    Rows go in reference order: two imports sharing references then wait on the unique
    index in the same order, so overlapping imports queue instead of deadlocking."""
    distinct = sorted({r.id: r for r in records}.values(), key=lambda r: r.external_ref)
    rows = [{c.key: getattr(record, c.key) for c in DEPOSITS.columns} for record in distinct]
    claimed = await session.scalars(
        insert_ignoring_conflicts(session, DEPOSITS, rows).returning(DEPOSITS.c.id)
    )
    return set(claimed)


async def _earlier(session: AsyncSession, refs: list[str]) -> dict[str, Deposit]:
    if not refs:
        return {}
    found = await session.scalars(select(Deposit).where(Deposit.external_ref.in_(refs)))
    return {deposit.external_ref: deposit for deposit in found}


def _entry(record: Deposit) -> EntrySpec:
    return EntrySpec(
        entry_id=record.entry_id,
        kind="deposit",
        postings=[
            Posting.debit_of(chart.world(record.currency).id, record.amount),
            Posting.credit_of(chart.wallet(record.org_id, record.currency).id, record.amount),
        ],
        meta={"memo": f"deposit {record.external_ref}", "deposit_id": str(record.id)},
    )


def _failed_item(records: list[Deposit], error: BalanceLimitExceeded) -> int:
    """The item whose entry the ledger refused (the first item with that deposit)."""
    for index, record in enumerate(records):
        if record.entry_id == error.failed_entry_id:
            return index
    raise LedgerInvariantError(f"the ledger refused an entry not in the batch: {error}")


async def deposit_batch(
    session: AsyncSession, caller: Caller | None, org_id: uuid.UUID, items: Sequence[DepositItem]
) -> list[DepositResult]:
    """Credit every item's money to the organisation's wallet, or (an item refused) none;
    one result per item, in order."""
    policies.require_admin(caller)
    assert 1 <= len(items) <= batches.MAX_DEPOSITS, "the API bounds a batch's size"
    records = _records(org_id, items)
    await require_org(session, org_id)
    created = await _claim(session, records)
    earlier = await _earlier(
        session, sorted({r.external_ref for r in records if r.id not in created})
    )
    results: list[DepositResult] = []
    for index, record in enumerate(records):
        with batches.item(index):
            if record.id in created:
                results.append(DepositResult(record, created=True))
                continue
            stored = earlier.get(record.external_ref)
            if stored is None:
                raise LedgerInvariantError("a deposit's external_ref conflicted with no deposit")
            results.append(DepositResult(same_money(stored, record), created=False))
    new = [r for r in {record.id: record for record in records}.values() if r.id in created]
    try:
        await Ledger(session).post_entries([_entry(record) for record in new])
    except BalanceLimitExceeded as error:
        index = _failed_item(records, error)
        with batches.item(index):
            refused = records[index]
            raise wallet_full(error, org_id, refused.currency, refused.amount) from None
    for record in new:
        await emit(
            session,
            "deposit.created",
            {
                "deposit_id": str(record.id),
                "org_id": str(org_id),
                "amount": record.amount,
                "currency": record.currency,
                "external_ref": record.external_ref,
            },
            orgs=[org_id],
        )
    return results
