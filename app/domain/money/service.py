"""Use cases of money in and out: deposit, withdraw, read balances and statements.

Each one writes its domain row and its ledger entry in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.errors import (
    BalanceLimitReached,
    Conflict,
    NotFound,
    Unprocessable,
)
from app.domain.events.publish import emit
from app.domain.identity.caller import Caller
from app.domain.identity.models import Org
from app.domain.money import chart
from app.domain.money.currency import spoken, validate_currency
from app.domain.money.models import Deposit, Withdrawal
from app.domain.money.shortfall import wallet_short
from app.domain.wording import quoted
from app.ledger import (
    BalanceLimitExceeded,
    HistoryLine,
    Ledger,
    LedgerInvariantError,
    LimitExceeded,
)
from app.sql.dialect import insert_ignoring_conflicts
from app.sql.types import utcnow

DEPOSITS: Table = Deposit.__table__  # type: ignore[assignment]
MAX_STATEMENT_PAGE = 201  # one more than a page, to tell whether another follows


@dataclass(frozen=True)
class DepositResult:
    deposit: Deposit
    created: bool  # False when an earlier deposit with the same external_ref was returned


@dataclass(frozen=True)
class CurrencyBalance:
    currency: str
    available: int
    held: int


async def require_org(session: AsyncSession, org_id: uuid.UUID) -> None:
    if await session.scalar(select(Org.id).where(Org.id == org_id)) is None:
        raise NotFound("organisation", org_id)


async def deposit(
    session: AsyncSession,
    caller: Caller | None,
    org_id: uuid.UUID,
    *,
    amount: int,
    currency: str,
    external_ref: str,
) -> DepositResult:
    """Credit money that arrived from outside; the same external_ref never credits twice,
    and none takes the wallet past the most an account may hold (BalanceLimitReached)."""
    policies.require_admin(caller)
    currency = validate_currency(currency)
    await require_org(session, org_id)
    record = Deposit(
        id=uuid.uuid4(),
        org_id=org_id,
        amount=amount,
        currency=currency,
        external_ref=external_ref,
        created_at=utcnow(),
    )
    record.entry_id = record.id
    claimed = await session.execute(
        insert_ignoring_conflicts(
            session,
            DEPOSITS,
            {column.key: getattr(record, column.key) for column in DEPOSITS.columns},
        ).returning(DEPOSITS.c.id)
    )
    if claimed.scalar_one_or_none() is None:
        return DepositResult(await _earlier_deposit(session, record), created=False)
    ledger = Ledger(session)
    try:
        await ledger.transfer(
            entry_id=record.entry_id,
            debit_account_id=chart.world(currency).id,
            credit_account_id=chart.wallet(org_id, currency).id,
            amount=amount,
            kind="deposit",
            meta={"memo": f"deposit {external_ref}", "deposit_id": str(record.id)},
        )
    except BalanceLimitExceeded as error:
        raise wallet_full(error, org_id, currency, amount) from None
    await emit(
        session,
        "deposit.created",
        {
            "deposit_id": str(record.id),
            "org_id": str(org_id),
            "amount": amount,
            "currency": currency,
            "external_ref": external_ref,
        },
        orgs=[org_id],
    )
    return DepositResult(record, created=True)


def wallet_full(
    error: BalanceLimitExceeded, org_id: uuid.UUID, currency: str, amount: int
) -> BalanceLimitReached:
    """A deposit of `amount` refused by the ledger's balance limit, told to the admin."""
    return BalanceLimitReached(
        f"The wallet of organisation {org_id} holds {spoken(error.balance, currency)}; a "
        f"deposit of {spoken(amount, currency)} would take it past "
        f"{spoken(error.limit, currency)} ({error.limit:,} minor units), the most one account "
        "may hold. Nothing was changed.",
        limit=error.limit,
        requested=amount,
        balance=error.balance,
    )


async def _earlier_deposit(session: AsyncSession, wanted: Deposit) -> Deposit:
    """The deposit that already used this external_ref, if it is the same money."""
    earlier = await session.scalar(
        select(Deposit).where(Deposit.external_ref == wanted.external_ref)
    )
    if earlier is None:
        raise LedgerInvariantError("a deposit's external_ref conflicted with no deposit")
    return same_money(earlier, wanted)


def same_money(earlier: Deposit, wanted: Deposit) -> Deposit:
    """`earlier`, when `wanted` (same external_ref) is the same money: a retried import;
    409 external_ref_conflict when the reference names other money."""
    assert earlier.external_ref == wanted.external_ref
    if (earlier.org_id, earlier.amount, earlier.currency) != (
        wanted.org_id,
        wanted.amount,
        wanted.currency,
    ):
        raise Conflict(
            f"external_ref {quoted(wanted.external_ref)} was already used for another deposit "
            f"({spoken(earlier.amount, earlier.currency)} to organisation {earlier.org_id}).",
            code="external_ref_conflict",
        )
    return earlier


async def withdraw(
    session: AsyncSession, caller: Caller | None, org_id: uuid.UUID, *, amount: int, currency: str
) -> Withdrawal:
    """Pay money out of the organisation's wallet; never more than it has available."""
    caller = policies.ensure_can_manage_org(caller, org_id)
    policies.require_org(caller)
    currency = validate_currency(currency)
    ledger = Ledger(session)
    source = chart.wallet(org_id, currency)  # an organisation that never held the currency
    withdrawal_id = uuid.uuid4()
    try:
        entry = await ledger.transfer(
            entry_id=withdrawal_id,
            debit_account_id=source.id,
            credit_account_id=chart.world(currency).id,
            amount=amount,
            kind="withdrawal",
            meta={"memo": "withdrawal", "withdrawal_id": str(withdrawal_id)},
        )
    except LimitExceeded as error:
        raise wallet_short(error.available, amount, currency, "the withdrawal needs") from None
    record = Withdrawal(
        id=withdrawal_id, org_id=org_id, amount=amount, currency=currency, entry_id=entry.id
    )
    session.add(record)
    await session.flush()
    await emit(
        session,
        "withdrawal.created",
        {
            "withdrawal_id": str(record.id),
            "org_id": str(org_id),
            "amount": amount,
            "currency": currency,
        },
        orgs=[org_id],
    )
    return record


async def balances(
    session: AsyncSession, caller: Caller | None, org_id: uuid.UUID
) -> list[CurrencyBalance]:
    """Per currency: available (spendable now) and held (reserved by pending pledges)."""
    policies.ensure_can_manage_org(caller, org_id)
    await require_org(session, org_id)
    ledger = Ledger(session)
    accounts = await chart.wallets(ledger, org_id)
    sums = await ledger.balances(account.id for account in accounts)
    return [
        CurrencyBalance(
            currency=account.currency,
            available=sums[account.id].available_credit,
            held=sums[account.id].debits_pending,
        )
        for account in accounts
        if account.id in sums
    ]


async def statement(
    session: AsyncSession,
    caller: Caller | None,
    org_id: uuid.UUID,
    *,
    currency: str | None,
    after_posting_id: int | None,
    limit: int,
) -> list[HistoryLine]:
    """The wallet's posted movements, oldest first, each with the balance after it."""
    policies.ensure_can_manage_org(caller, org_id)
    await require_org(session, org_id)
    ledger = Ledger(session)
    accounts = await chart.wallets(ledger, org_id)
    if currency is not None:
        validate_currency(currency)
        accounts = [account for account in accounts if account.currency == currency]
    elif len(accounts) > 1:
        raise Unprocessable(
            "The organisation holds several currencies; pass ?currency=.",
            code="currency_required",
        )
    if not accounts:
        return []
    return await ledger.history(
        accounts[0].id, after_posting_id=after_posting_id, limit=min(limit, MAX_STATEMENT_PAGE)
    )
