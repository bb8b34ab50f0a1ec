"""The ledger against a real database: accounts, entries, two-phase transfers, verify."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.ledger import (
    Account,
    AccountConflict,
    AccountFlags,
    AccountNotFound,
    EntryConflict,
    EntrySpec,
    InvalidEntry,
    Ledger,
    LimitExceeded,
    PendingNotOpen,
    Phase,
    Posting,
)
from app.ledger.accounts import forget_all_accounts
from app.sql.types import utcnow

T = TypeVar("T")
LIMITED = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


async def tx(database: Database, work: Callable[[Ledger], Awaitable[T]]) -> T:
    async def unit(session: AsyncSession) -> T:
        return await work(Ledger(session))

    return await database.transaction(unit)


async def open_pair(database: Database, *, shards: int = 1) -> tuple[Account, Account]:
    """An unlimited 'world' account and a limited wallet, in USD."""
    owner = uuid.uuid4().hex

    async def work(ledger: Ledger) -> tuple[Account, Account]:
        world = await ledger.open_account(
            code="world", currency="USD", owner_ref=owner, shards=shards
        )
        wallet = await ledger.open_account(
            code="wallet", currency="USD", owner_ref=owner, flags=LIMITED
        )
        return world, wallet

    return await tx(database, work)


async def fund(database: Database, world: Account, wallet: Account, amount: int) -> uuid.UUID:
    entry_id = uuid.uuid4()
    await tx(
        database,
        lambda ledger: ledger.transfer(
            entry_id=entry_id,
            debit_account_id=world.id,
            credit_account_id=wallet.id,
            amount=amount,
            kind="deposit",
        ),
    )
    return entry_id


async def test_open_account_is_idempotent_and_refuses_other_flags(database: Database) -> None:
    world, wallet = await open_pair(database)
    again = await tx(
        database,
        lambda ledger: ledger.open_account(
            code="wallet", currency="USD", owner_ref=wallet.owner_ref, flags=LIMITED
        ),
    )
    assert again.id == wallet.id
    with pytest.raises(AccountConflict):
        await tx(
            database,
            lambda ledger: ledger.open_account(
                code="wallet", currency="USD", owner_ref=wallet.owner_ref
            ),
        )
    assert world.flags == AccountFlags.NONE


async def test_opening_an_account_only_declared_so_far_creates_it(database: Database) -> None:
    """A declared account is created by the first write that uses it; opening it before any
    write must create it too, not answer the process's memory of the declaration."""
    owner_ref = f"org:{uuid.uuid4()}"
    declared = Ledger.declare_account(code="wallet", currency="USD", owner_ref=owner_ref)
    opened = await tx(
        database,
        lambda ledger: ledger.open_account(code="wallet", currency="USD", owner_ref=owner_ref),
    )
    assert opened.id == declared.id
    found = await tx(database, lambda ledger: ledger.balances([declared.id]))
    assert declared.id in found


async def test_open_accounts_opens_many_at_once_idempotently(database: Database) -> None:
    refs = [f"escrow:{n}" for n in range(1_203)]
    single = await tx(
        database,
        lambda ledger: ledger.open_account(
            code="escrow", currency="USD", owner_ref=refs[7], flags=LIMITED
        ),
    )
    forget_all_accounts()  # the batch must find the existing row in the database, too
    opened = await tx(
        database,
        lambda ledger: ledger.open_accounts(
            code="escrow", currency="USD", owner_refs=refs, flags=LIMITED
        ),
    )
    assert list(opened) == refs
    assert opened[refs[7]].id == single.id
    assert {a.id for a in opened.values()} == {
        Ledger.account_id_for(code="escrow", currency="USD", owner_ref=r) for r in refs
    }
    again = await tx(
        database,
        lambda ledger: ledger.open_accounts(
            code="escrow", currency="USD", owner_refs=refs[:3], flags=LIMITED
        ),
    )
    assert {ref: a.id for ref, a in again.items()} == {r: opened[r].id for r in refs[:3]}
    balances = await tx(database, lambda ledger: ledger.balances(a.id for a in opened.values()))
    assert len(balances) == len(refs)
    with pytest.raises(AccountConflict):
        await tx(
            database,
            lambda ledger: ledger.open_accounts(code="escrow", currency="USD", owner_refs=refs),
        )


async def test_transfer_moves_exact_amounts_and_history_has_balance_after(
    database: Database,
) -> None:
    world, wallet = await open_pair(database)
    await fund(database, world, wallet, 1250)
    await fund(database, world, wallet, 750)
    outside = uuid.uuid4()
    await tx(
        database,
        lambda ledger: ledger.transfer(
            entry_id=outside,
            debit_account_id=wallet.id,
            credit_account_id=world.id,
            amount=500,
            kind="withdrawal",
            meta={"memo": "out"},
        ),
    )
    async with database.read() as session:
        ledger = Ledger(session)
        balance = await ledger.balance(wallet.id)
        lines = await ledger.history(wallet.id)
        world_balance = await ledger.balance(world.id)
    assert balance.credit_balance == 1500
    assert world_balance.credit_balance == -1500
    assert [(line.amount, line.balance_after) for line in lines] == [
        (1250, 1250),
        (750, 2000),
        (-500, 1500),
    ]
    assert lines[-1].meta == {"memo": "out"}
    async with database.read() as session:
        tail = await Ledger(session).history(wallet.id, after_posting_id=lines[0].posting_id)
    assert [(line.amount, line.balance_after) for line in tail] == [(750, 2000), (-500, 1500)]


async def test_retried_entry_is_a_no_op_and_other_content_is_a_conflict(
    database: Database,
) -> None:
    world, wallet = await open_pair(database)
    entry_id = await fund(database, world, wallet, 100)
    replay = await tx(
        database,
        lambda ledger: ledger.transfer(
            entry_id=entry_id,
            debit_account_id=world.id,
            credit_account_id=wallet.id,
            amount=100,
            kind="deposit",
        ),
    )
    assert replay.id == entry_id
    with pytest.raises(EntryConflict):
        await tx(
            database,
            lambda ledger: ledger.transfer(
                entry_id=entry_id,
                debit_account_id=world.id,
                credit_account_id=wallet.id,
                amount=101,
                kind="deposit",
            ),
        )
    async with database.read() as session:
        assert (await Ledger(session).balance(wallet.id)).credit_balance == 100


@pytest.mark.parametrize(
    "postings",
    [
        [Posting.debit_of(uuid.UUID(int=1), 5)],
        [Posting.debit_of(uuid.UUID(int=1), 5), Posting.credit_of(uuid.UUID(int=2), 4)],
        [Posting.debit_of(uuid.UUID(int=1), 0), Posting.credit_of(uuid.UUID(int=2), 0)],
        [Posting.debit_of(uuid.UUID(int=1), -5), Posting.credit_of(uuid.UUID(int=2), -5)],
        [Posting(uuid.UUID(int=1), debit=5, credit=5), Posting.credit_of(uuid.UUID(int=2), 0)],
        [Posting.debit_of(uuid.UUID(int=1), 2**63), Posting.credit_of(uuid.UUID(int=2), 2**63)],
    ],
)
async def test_malformed_entries_are_refused(database: Database, postings: list[Posting]) -> None:
    world, wallet = await open_pair(database)
    await fund(database, world, wallet, 10)
    ids = {uuid.UUID(int=1): world.id, uuid.UUID(int=2): wallet.id}
    real = [Posting(ids[p.account_id], p.debit, p.credit) for p in postings]
    with pytest.raises(InvalidEntry):
        await tx(
            database,
            lambda ledger: ledger.post_entry(entry_id=uuid.uuid4(), kind="bad", postings=real),
        )


async def test_entry_mixing_currencies_is_unbalanced(database: Database) -> None:
    owner = uuid.uuid4().hex

    async def work(ledger: Ledger) -> None:
        usd = await ledger.open_account(code="world", currency="USD", owner_ref=owner)
        eur = await ledger.open_account(code="world", currency="EUR", owner_ref=owner)
        await ledger.transfer(
            entry_id=uuid.uuid4(),
            debit_account_id=usd.id,
            credit_account_id=eur.id,
            amount=5,
            kind="fx",
        )

    with pytest.raises(InvalidEntry, match="per currency"):
        await tx(database, work)


async def test_unknown_account_is_refused(database: Database) -> None:
    world, _ = await open_pair(database)
    with pytest.raises(AccountNotFound):
        await tx(
            database,
            lambda ledger: ledger.transfer(
                entry_id=uuid.uuid4(),
                debit_account_id=world.id,
                credit_account_id=uuid.uuid4(),
                amount=5,
                kind="x",
            ),
        )


async def test_overdraft_is_refused_and_moves_nothing(database: Database) -> None:
    world, wallet = await open_pair(database)
    await fund(database, world, wallet, 1000)
    with pytest.raises(LimitExceeded) as caught:
        await tx(
            database,
            lambda ledger: ledger.transfer(
                entry_id=uuid.uuid4(),
                debit_account_id=wallet.id,
                credit_account_id=world.id,
                amount=1001,
                kind="withdrawal",
            ),
        )
    assert (caught.value.available, caught.value.requested) == (1000, 1001)
    async with database.read() as session:
        assert (await Ledger(session).balance(wallet.id)).credit_balance == 1000


async def test_hold_reserves_then_partial_post_releases_the_rest(database: Database) -> None:
    world, wallet = await open_pair(database)
    await fund(database, world, wallet, 1000)
    _, pledge = await open_pair(database)
    hold_id = uuid.uuid4()
    await tx(
        database,
        lambda ledger: ledger.hold(
            entry_id=hold_id,
            debit_account_id=wallet.id,
            credit_account_id=pledge.id,
            amount=700,
            kind="pledge_hold",
        ),
    )
    async with database.read() as session:
        held = await Ledger(session).balance(wallet.id)
    assert (held.available_credit, held.debits_pending) == (300, 700)
    with pytest.raises(LimitExceeded):
        await tx(
            database,
            lambda ledger: ledger.transfer(
                entry_id=uuid.uuid4(),
                debit_account_id=wallet.id,
                credit_account_id=world.id,
                amount=301,
                kind="withdrawal",
            ),
        )
    post_id = uuid.uuid4()
    posted = await tx(
        database,
        lambda ledger: ledger.post_pending(entry_id=post_id, pending_id=hold_id, amount=400),
    )
    assert posted.phase == Phase.POST
    async with database.read() as session:
        ledger = Ledger(session)
        after, pledged = await ledger.balance(wallet.id), await ledger.balance(pledge.id)
    assert (after.credit_balance, after.debits_pending, after.available_credit) == (600, 0, 600)
    assert pledged.credit_balance == 400
    with pytest.raises(PendingNotOpen):
        await tx(
            database,
            lambda ledger: ledger.void_pending(entry_id=uuid.uuid4(), pending_id=hold_id),
        )
    replay = await tx(
        database,
        lambda ledger: ledger.post_pending(entry_id=post_id, pending_id=hold_id, amount=400),
    )
    assert replay.id == post_id


async def test_void_releases_everything_and_a_second_resolution_fails(database: Database) -> None:
    world, wallet = await open_pair(database)
    await fund(database, world, wallet, 500)
    hold_id = uuid.uuid4()
    await tx(
        database,
        lambda ledger: ledger.hold(
            entry_id=hold_id,
            debit_account_id=wallet.id,
            credit_account_id=world.id,
            amount=500,
            kind="hold",
        ),
    )
    await tx(
        database, lambda ledger: ledger.void_pending(entry_id=uuid.uuid4(), pending_id=hold_id)
    )
    with pytest.raises(PendingNotOpen):
        await tx(
            database,
            lambda ledger: ledger.post_pending(entry_id=uuid.uuid4(), pending_id=hold_id),
        )
    async with database.read() as session:
        balance = await Ledger(session).balance(wallet.id)
    assert (balance.credit_balance, balance.debits_pending) == (500, 0)


async def test_post_of_more_than_held_is_refused(database: Database) -> None:
    world, wallet = await open_pair(database)
    await fund(database, world, wallet, 500)
    hold_id = uuid.uuid4()
    await tx(
        database,
        lambda ledger: ledger.hold(
            entry_id=hold_id,
            debit_account_id=wallet.id,
            credit_account_id=world.id,
            amount=200,
            kind="hold",
        ),
    )
    with pytest.raises(InvalidEntry):
        await tx(
            database,
            lambda ledger: ledger.post_pending(
                entry_id=uuid.uuid4(), pending_id=hold_id, amount=201
            ),
        )


async def test_expired_holds_are_voided_by_due_work_once(database: Database) -> None:
    world, wallet = await open_pair(database)
    await fund(database, world, wallet, 300)
    hold_id = uuid.uuid4()
    await tx(
        database,
        lambda ledger: ledger.hold(
            entry_id=hold_id,
            debit_account_id=wallet.id,
            credit_account_id=world.id,
            amount=300,
            kind="hold",
            timeout_at=utcnow() - timedelta(seconds=1),
        ),
    )
    with pytest.raises(PendingNotOpen, match="expired"):
        await tx(
            database,
            lambda ledger: ledger.post_pending(entry_id=uuid.uuid4(), pending_id=hold_id),
        )
    voided = await tx(database, lambda ledger: ledger.void_expired(now=utcnow()))
    again = await tx(database, lambda ledger: ledger.void_expired(now=utcnow()))
    assert (voided, again) == (1, 0)
    async with database.read() as session:
        balance = await Ledger(session).balance(wallet.id)
    assert (balance.available_credit, balance.debits_pending) == (300, 0)


async def test_sharded_account_spreads_writes_and_sums_exactly(database: Database) -> None:
    world, wallet = await open_pair(database, shards=8)
    for amount in range(1, 21):
        await fund(database, world, wallet, amount)
    async with database.read() as session:
        balance = await Ledger(session).balance(world.id)
        shards_used = (
            await session.execute(
                text("SELECT COUNT(DISTINCT shard) FROM ledger_postings WHERE account_id = :a"),
                {"a": world.id.hex if database.dialect == "sqlite" else world.id},
            )
        ).scalar_one()
    assert balance.credit_balance == -210
    assert shards_used > 1


async def test_limited_account_with_shards_checks_the_sum_of_all_shards(
    database: Database,
) -> None:
    owner = uuid.uuid4().hex

    async def open_accounts(ledger: Ledger) -> tuple[Account, Account]:
        world = await ledger.open_account(code="world", currency="USD", owner_ref=owner)
        pool = await ledger.open_account(
            code="pool", currency="USD", owner_ref=owner, flags=LIMITED, shards=4
        )
        return world, pool

    world, pool = await tx(database, open_accounts)
    for _ in range(4):
        await fund(database, world, pool, 25)
    with pytest.raises(LimitExceeded):
        await tx(
            database,
            lambda ledger: ledger.transfer(
                entry_id=uuid.uuid4(),
                debit_account_id=pool.id,
                credit_account_id=world.id,
                amount=101,
                kind="x",
            ),
        )
    await tx(
        database,
        lambda ledger: ledger.transfer(
            entry_id=uuid.uuid4(),
            debit_account_id=pool.id,
            credit_account_id=world.id,
            amount=100,
            kind="x",
        ),
    )
    async with database.read() as session:
        assert (await Ledger(session).balance(pool.id)).credit_balance == 0


@pytest.mark.parametrize(
    "statement",
    ["UPDATE ledger_entries SET kind = 'forged'", "DELETE FROM ledger_postings"],
)
async def test_journal_rows_cannot_be_updated_or_deleted(
    database: Database, statement: str
) -> None:
    world, wallet = await open_pair(database)
    await fund(database, world, wallet, 10)

    async def tamper(session: AsyncSession) -> None:
        await session.execute(text(statement))

    with pytest.raises(DBAPIError, match="append-only"):
        await database.transaction(tamper)


@pytest.mark.tampers_ledger
async def test_verify_finds_a_balance_changed_behind_the_ledgers_back(database: Database) -> None:
    world, wallet = await open_pair(database)
    await fund(database, world, wallet, 10)
    async with database.read() as session:
        assert (await Ledger(session).verify()).ok

    async def tamper(session: AsyncSession) -> None:
        await session.execute(
            text("UPDATE ledger_balances SET credits_posted = credits_posted + 1")
        )

    await database.transaction(tamper)
    async with database.read() as session:
        report = await Ledger(session).verify()
    assert not report.ok
    checks = {violation["check"] for violation in report.violations}
    assert {"balance_differs_from_postings", "currency_does_not_sum_to_zero"} <= checks
    assert report.entries_checked == 1


async def test_a_batch_writes_every_entry_and_replays_as_a_whole(database: Database) -> None:
    world, wallet = await open_pair(database)
    await fund(database, world, wallet, 1000)
    specs = [
        EntrySpec(
            entry_id=uuid.uuid4(),
            kind="batch",
            postings=[Posting.debit_of(wallet.id, 100), Posting.credit_of(world.id, 100)],
        )
        for _ in range(5)
    ]
    first = await tx(database, lambda ledger: ledger.post_entries(specs))
    again = await tx(database, lambda ledger: ledger.post_entries(specs))
    assert [entry.id for entry in first] == [entry.id for entry in again]
    async with database.read() as session:
        assert (await Ledger(session).balance(wallet.id)).credit_balance == 500


async def test_a_batch_with_one_overdraft_writes_nothing(database: Database) -> None:
    world, wallet = await open_pair(database)
    await fund(database, world, wallet, 250)
    specs = [
        EntrySpec(
            entry_id=uuid.uuid4(),
            kind="batch",
            postings=[Posting.debit_of(wallet.id, 100), Posting.credit_of(world.id, 100)],
        )
        for _ in range(3)
    ]
    with pytest.raises(LimitExceeded):
        await tx(database, lambda ledger: ledger.post_entries(specs))
    async with database.read() as session:
        assert (await Ledger(session).balance(wallet.id)).credit_balance == 250
