"""Changing balance rows under the accounts' flags and limit, in one global lock order.

An account's balance is the sum of its shard rows. A change that can break neither the
account's flag nor its limit (anything on an unflagged account, a release of a hold) touches
one shard with an atomic increment. A change that could (a debit of a
DEBITS_MUST_NOT_EXCEED_CREDITS account breaks its flag if it is short; any credit to it may
take it past MAX_BALANCE) is checked in the same UPDATE that applies it, or, for an account
with several shards, after locking all of them in shard order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger import tables
from app.ledger.accounts import forget_account
from app.ledger.errors import (
    BalanceLimitExceeded,
    BalanceRowMissing,
    LedgerError,
    LedgerInvariantError,
    LimitExceeded,
)
from app.ledger.model import MAX_BALANCE, Account, AccountFlags, Balance
from app.sql.dialect import supports_row_locks

_COLUMNS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


@dataclass(slots=True)
class RowChange:
    """Signed deltas for one (account, shard) balance row."""

    account: Account
    shard: int
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @classmethod
    def of(
        cls, account: Account, shard: int, debit: int, credit: int, *, pending: bool
    ) -> RowChange:
        if pending:
            return cls(account, shard, debits_pending=debit, credits_pending=credit)
        return cls(account, shard, debits_posted=debit, credits_posted=credit)

    def add(self, other: RowChange) -> None:
        for name in _COLUMNS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def deltas(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _COLUMNS if getattr(self, name)}

    @property
    def as_balance(self) -> Balance:
        return Balance(*(getattr(self, name) for name in _COLUMNS))


def _raises_limited_side(account: Account, change: Balance) -> bool:
    if account.flags == AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
        return change.debits_posted + change.debits_pending > 0
    if account.flags == AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
        return change.credits_posted + change.credits_pending > 0
    return False


def _holding(account: Account, balance: Balance) -> int:
    """What a limited account holds towards MAX_BALANCE: its balance on its own side plus
    credits still pending to it (so posting a hold can never cross the limit; a void or a
    pending debit never raises it)."""
    if account.flags == AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
        return balance.credits_posted + balance.credits_pending - balance.debits_posted
    if account.flags == AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
        return balance.debits_posted + balance.debits_pending - balance.credits_posted
    raise LedgerInvariantError("a holding asked of an account without a limit flag")


def _rise(account: Account, change: Balance) -> int:
    """How much `change` raises what a limited account holds (0 when it does not)."""
    if account.flags == AccountFlags.NONE:
        return 0
    return max(0, _holding(account, change))


def _needs_check(account: Account, change: Balance) -> bool:
    """Whether `change` could break the account's flag or take it past MAX_BALANCE."""
    return _raises_limited_side(account, change) or _rise(account, change) > 0


def _headroom(account: Account, balance: Balance) -> int:
    """What the flag still allows; negative means the flag is broken."""
    if account.flags == AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
        return balance.available_credit
    if account.flags == AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
        return balance.available_debit
    raise LedgerInvariantError("headroom asked of an account without a limit flag")


def _requested(account: Account, change: Balance) -> int:
    if account.flags == AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
        return change.debits_posted + change.debits_pending
    return change.credits_posted + change.credits_pending


def _refusal(account: Account, current: Balance, change: Balance) -> LedgerError:
    """Why `change` may not be applied to an account holding `current`: its flag first."""
    if _headroom(account, current + change) < 0:
        return LimitExceeded(account.id, _headroom(account, current), _requested(account, change))
    return BalanceLimitExceeded(
        account.id, _holding(account, current), _rise(account, change), MAX_BALANCE
    )


def _allowed(account: Account, current: Balance, change: Balance) -> bool:
    after = current + change
    if _headroom(account, after) < 0:
        return False
    return _rise(account, change) == 0 or _holding(account, after) <= MAX_BALANCE


def _checks_after(account: Account, change: RowChange) -> ColumnElement[bool]:
    """SQL: once `change` is applied, the row still satisfies the flag and, if the change
    raises what the account holds, stays within MAX_BALANCE."""
    b = tables.balances.c
    dp = b.debits_posted + change.debits_posted
    cp = b.credits_posted + change.credits_posted
    dq = b.debits_pending + change.debits_pending
    cq = b.credits_pending + change.credits_pending
    if account.flags == AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
        flag, holds = cp >= dp + dq, cp + cq - dp
    else:
        flag, holds = dp >= cp + cq, dp + dq - cp
    if _rise(account, change.as_balance) == 0:
        return flag
    return and_(flag, holds <= MAX_BALANCE)


async def _increment(
    session: AsyncSession, change: RowChange, condition: ColumnElement[bool] | None = None
) -> bool:
    b = tables.balances.c
    statement = update(tables.balances).where(
        b.account_id == change.account.id, b.shard == change.shard
    )
    if condition is not None:
        statement = statement.where(condition)
    values = {name: getattr(b, name) + delta for name, delta in change.deltas().items()}
    if not values:
        return True
    result = await session.execute(statement.values(values))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def _rows(session: AsyncSession, account_id: uuid.UUID, *, lock: bool) -> dict[int, Balance]:
    b = tables.balances.c
    query = select(tables.balances).where(b.account_id == account_id).order_by(b.shard)
    if lock and supports_row_locks(session):
        query = query.with_for_update()
    rows = (await session.execute(query)).mappings().all()
    return {row["shard"]: Balance(*(row[name] for name in _COLUMNS)) for row in rows}


async def _apply_checked_single(session: AsyncSession, change: RowChange) -> None:
    if await _increment(session, change, _checks_after(change.account, change)):
        return
    current = (await _rows(session, change.account.id, lock=False)).get(change.shard)
    if current is None:
        raise _missing(change.account.id)
    raise _refusal(change.account, current, change.as_balance)


async def _apply_checked_sharded(
    session: AsyncSession, account: Account, changes: list[RowChange]
) -> None:
    rows = await _rows(session, account.id, lock=True)
    if len(rows) != account.shards:
        raise _missing(account.id)
    total = sum(rows.values(), Balance())
    change = sum((c.as_balance for c in changes), Balance())
    if not _allowed(account, total, change):
        raise _refusal(account, total, change)
    for item in changes:
        if not await _increment(session, item):
            raise _missing(account.id)


def _merge(changes: Iterable[RowChange]) -> dict[uuid.UUID, list[RowChange]]:
    """Sum the changes per row, grouped per account, both in lock order."""
    merged: dict[tuple[uuid.UUID, int], RowChange] = {}
    for change in changes:
        key = (change.account.id, change.shard)
        if key in merged:
            merged[key].add(change)
        else:
            merged[key] = RowChange(change.account, change.shard, **change.deltas())
    grouped: dict[uuid.UUID, list[RowChange]] = {}
    for key in sorted(merged, key=lambda k: (k[0].int, k[1])):
        grouped.setdefault(key[0], []).append(merged[key])
    return grouped


PLAIN, CHECKED_ROW, CHECKED_ACCOUNT = 0, 1, 2


def plan(changes: Iterable[RowChange]) -> list[tuple[RowChange, int]]:
    """The rows to change in lock order, each with how to apply it.

    PLAIN: an atomic increment. CHECKED_ROW: an increment conditional on the flag and the
    limit (an account with one shard). CHECKED_ACCOUNT, on the first row of an account with several
    shards: lock all its shards and check their sum against the account's whole change.
    """
    planned: list[tuple[RowChange, int]] = []
    for rows in _merge(changes).values():
        account = rows[0].account
        change = sum((row.as_balance for row in rows), Balance())
        if not _needs_check(account, change):
            planned.extend((row, PLAIN) for row in rows)
        elif account.shards == 1:
            planned.append((rows[0], CHECKED_ROW))
        else:
            planned.append((rows[0], CHECKED_ACCOUNT))
            planned.extend((row, PLAIN) for row in rows[1:])
    return planned


async def apply_changes(session: AsyncSession, changes: Iterable[RowChange]) -> None:
    """Apply the deltas portably, account by account in id order, shard by shard."""
    for rows in _merge(changes).values():
        account = rows[0].account
        change = sum((row.as_balance for row in rows), Balance())
        if not _needs_check(account, change):
            for row in rows:
                if not await _increment(session, row):
                    raise _missing(account.id)
        elif account.shards == 1:
            await _apply_checked_single(session, rows[0])
        else:
            await _apply_checked_sharded(session, account, rows)


def _missing(account_id: uuid.UUID) -> BalanceRowMissing:
    forget_account(account_id)
    return BalanceRowMissing(account_id)
