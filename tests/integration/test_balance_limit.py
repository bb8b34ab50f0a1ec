"""No limited account holds more than MAX_BALANCE: the ledger refuses the credit that would
cross it, in the same locked write that checks the flags, and moves nothing.

The API caps each amount below 10^15, but not how many arrive: four deposits of nearly that
once put a wallet at 4 x 10^15 (issue 16). Each test runs on PostgreSQL (its fast path, the
PL/pgSQL function) and on SQLite (the portable path).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.ledger import (
    MAX_BALANCE,
    Account,
    AccountFlags,
    BalanceLimitExceeded,
    EntrySpec,
    Ledger,
    Posting,
)

T = TypeVar("T")
DEBIT_LIMITED = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
CREDIT_LIMITED = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS


async def tx(database: Database, work: Callable[[Ledger], Awaitable[T]]) -> T:
    async def unit(session: AsyncSession) -> T:
        return await work(Ledger(session))

    return await database.transaction(unit)


async def open_accounts(
    database: Database, *, shards: int, flags: AccountFlags = DEBIT_LIMITED
) -> tuple[Account, Account]:
    """The outside world (unlimited, sharded) and one limited account."""
    owner = uuid.uuid4().hex

    async def work(ledger: Ledger) -> tuple[Account, Account]:
        world = await ledger.open_account(code="world", currency="USD", owner_ref=owner, shards=4)
        limited = await ledger.open_account(
            code="wallet", currency="USD", owner_ref=owner, flags=flags, shards=shards
        )
        return world, limited

    return await tx(database, work)


async def move(database: Database, debit: Account, credit: Account, amount: int) -> uuid.UUID:
    entry_id = uuid.uuid4()
    await tx(
        database,
        lambda ledger: ledger.transfer(
            entry_id=entry_id,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount=amount,
            kind="test",
        ),
    )
    return entry_id


async def hold(database: Database, debit: Account, credit: Account, amount: int) -> uuid.UUID:
    entry_id = uuid.uuid4()
    await tx(
        database,
        lambda ledger: ledger.hold(
            entry_id=entry_id,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount=amount,
            kind="test_hold",
        ),
    )
    return entry_id


async def state(database: Database, account: Account) -> tuple[int, int, int, int, int]:
    """The account's balance columns and the number of entries in the journal."""
    async with database.read() as session:
        ledger = Ledger(session)
        balance = await ledger.balance(account.id)
        entries = (await ledger.verify()).entries_checked
    return (
        balance.debits_posted,
        balance.credits_posted,
        balance.debits_pending,
        balance.credits_pending,
        entries,
    )


async def assert_verify_ok(database: Database) -> None:
    async with database.read() as session:
        report = await Ledger(session).verify()
    assert report.ok, report.violations


def test_the_limit_stays_far_from_int64_overflow() -> None:
    assert MAX_BALANCE == 10**15 - 1
    assert MAX_BALANCE * 9_000 < 2**63 - 1  # thousands of full accounts still sum in a bigint


@pytest.mark.parametrize("shards", [1, 8])
async def test_a_credit_exactly_to_the_limit_is_allowed_and_one_more_moves_nothing(
    database: Database, shards: int
) -> None:
    world, wallet = await open_accounts(database, shards=shards)
    await move(database, world, wallet, MAX_BALANCE - 10)
    await move(database, world, wallet, 10)  # exactly at the limit
    before = await state(database, wallet)
    assert before[1] - before[0] == MAX_BALANCE

    with pytest.raises(BalanceLimitExceeded) as refused:
        await move(database, world, wallet, 1)
    assert refused.value.account_id == wallet.id
    assert (refused.value.balance, refused.value.requested) == (MAX_BALANCE, 1)
    assert refused.value.limit == MAX_BALANCE
    assert await state(database, wallet) == before
    await assert_verify_ok(database)


@pytest.mark.parametrize("shards", [1, 8])
async def test_four_near_maximum_credits_stop_at_the_first_that_would_cross(
    database: Database, shards: int
) -> None:
    """The issue's case: amounts each below 10^15, four of them to one account."""
    world, wallet = await open_accounts(database, shards=shards)
    near_maximum = 10**15 - 1_000
    await move(database, world, wallet, near_maximum)
    for _ in range(3):
        with pytest.raises(BalanceLimitExceeded) as refused:
            await move(database, world, wallet, near_maximum)
        assert (refused.value.balance, refused.value.requested) == (near_maximum, near_maximum)
    balance = await state(database, wallet)
    assert balance[1] - balance[0] == near_maximum
    await assert_verify_ok(database)


@pytest.mark.parametrize("shards", [1, 8])
async def test_spending_makes_room_again(database: Database, shards: int) -> None:
    world, wallet = await open_accounts(database, shards=shards)
    await move(database, world, wallet, MAX_BALANCE)
    await move(database, wallet, world, 500)
    with pytest.raises(BalanceLimitExceeded):
        await move(database, world, wallet, 501)
    await move(database, world, wallet, 500)
    balance = await state(database, wallet)
    assert balance[1] - balance[0] == MAX_BALANCE
    await assert_verify_ok(database)


async def test_pending_credits_count_and_posting_them_never_crosses(database: Database) -> None:
    """A hold reserves room in the account it will credit, so its post can never fail on
    the limit; a void gives the room back."""
    world, wallet = await open_accounts(database, shards=1)
    await move(database, world, wallet, MAX_BALANCE - 100)
    held = await hold(database, world, wallet, 100)
    with pytest.raises(BalanceLimitExceeded) as refused:
        await move(database, world, wallet, 1)
    assert refused.value.balance == MAX_BALANCE
    with pytest.raises(BalanceLimitExceeded):
        await hold(database, world, wallet, 1)
    await tx(database, lambda ledger: ledger.post_pending(entry_id=uuid.uuid4(), pending_id=held))
    balance = await state(database, wallet)
    assert (balance[1] - balance[0], balance[3]) == (MAX_BALANCE, 0)

    await move(database, wallet, world, 100)
    second = await hold(database, world, wallet, 100)
    await tx(database, lambda ledger: ledger.void_pending(entry_id=uuid.uuid4(), pending_id=second))
    await move(database, world, wallet, 100)
    await assert_verify_ok(database)


async def test_a_partial_post_of_a_full_hold_is_allowed(database: Database) -> None:
    world, wallet = await open_accounts(database, shards=8)
    held = await hold(database, world, wallet, MAX_BALANCE)
    await tx(
        database,
        lambda ledger: ledger.post_pending(entry_id=uuid.uuid4(), pending_id=held, amount=7),
    )
    balance = await state(database, wallet)
    assert (balance[1], balance[3]) == (7, 0)
    await assert_verify_ok(database)


async def test_the_mirror_flag_is_limited_on_its_debit_side(database: Database) -> None:
    """A CREDITS_MUST_NOT_EXCEED_DEBITS account (money owed to the platform) holds its
    balance on the debit side; the same limit applies there."""
    world, loan = await open_accounts(database, shards=1, flags=CREDIT_LIMITED)
    await move(database, loan, world, MAX_BALANCE)
    with pytest.raises(BalanceLimitExceeded) as refused:
        await move(database, loan, world, 1)
    assert (refused.value.balance, refused.value.requested) == (MAX_BALANCE, 1)
    await move(database, world, loan, 1)
    await move(database, loan, world, 1)
    await assert_verify_ok(database)


async def test_one_entry_crediting_two_accounts_refuses_as_a_whole(database: Database) -> None:
    world, first = await open_accounts(database, shards=1)
    _, second = await open_accounts(database, shards=8)
    await move(database, world, second, MAX_BALANCE - 5)
    before = (await state(database, first), await state(database, second))
    with pytest.raises(BalanceLimitExceeded) as refused:
        await tx(
            database,
            lambda ledger: ledger.post_entry(
                entry_id=uuid.uuid4(),
                kind="split",
                postings=[
                    Posting.debit_of(world.id, 16),
                    Posting.credit_of(first.id, 10),
                    Posting.credit_of(second.id, 6),
                ],
            ),
        )
    assert refused.value.account_id == second.id
    assert (await state(database, first), await state(database, second)) == before
    await assert_verify_ok(database)


async def test_a_batch_that_would_cross_the_limit_writes_nothing(database: Database) -> None:
    world, wallet = await open_accounts(database, shards=8)
    specs = [
        EntrySpec(
            entry_id=uuid.uuid4(),
            kind="batch",
            postings=[Posting.debit_of(world.id, amount), Posting.credit_of(wallet.id, amount)],
        )
        for amount in (MAX_BALANCE - 3, 3, 1)
    ]
    before = await state(database, wallet)
    with pytest.raises(BalanceLimitExceeded):
        await tx(database, lambda ledger: ledger.post_entries(specs))
    assert await state(database, wallet) == before
    await tx(database, lambda ledger: ledger.post_entries(specs[:2]))
    balance = await state(database, wallet)
    assert balance[1] - balance[0] == MAX_BALANCE
    await assert_verify_ok(database)


async def test_unlimited_accounts_are_not_capped(database: Database) -> None:
    """`world` and fee income are the other side of every movement: no flag, no limit (and
    sharded, so a deposit storm never queues on them)."""
    world, wallet = await open_accounts(database, shards=1)
    _, other = await open_accounts(database, shards=1)
    await move(database, world, wallet, MAX_BALANCE)
    await move(database, world, other, MAX_BALANCE)
    async with database.read() as session:
        assert (await Ledger(session).balance(world.id)).debits_posted == 2 * MAX_BALANCE
    await assert_verify_ok(database)


@pytest.mark.tampers_ledger
async def test_verify_reports_an_account_above_the_limit(database: Database) -> None:
    world, wallet = await open_accounts(database, shards=1)
    await move(database, world, wallet, MAX_BALANCE)

    async def tamper(session: AsyncSession) -> None:
        await session.execute(
            text("UPDATE ledger_balances SET credits_posted = credits_posted + 1")
        )

    await database.transaction(tamper)
    async with database.read() as session:
        report = await Ledger(session).verify()
    checks = {violation["check"] for violation in report.violations}
    assert "balance_above_limit" in checks
