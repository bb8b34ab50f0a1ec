"""Several OS processes write one PostgreSQL ledger at once, through the Python API.

Thousands of conflicting transfers (random pairs of wallets, plus a stampede on one wallet
that cannot pay them all) run in four processes. Afterwards every balance equals exactly
its funding plus what the processes report as committed, nothing was overdrawn, and
`verify()` holds.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.ledger import MAX_BALANCE, AccountFlags, BalanceLimitExceeded, Ledger, LimitExceeded
from app.migrations import upgrade
from app.settings import Settings
from tests.support.postgres import create_database, drop_database

pytestmark = pytest.mark.postgres_only

PROCESSES = 4
WALLETS = 20
FUNDING = 1_000
HOT_FUNDING = 10_000
HOT_AMOUNT = 100
RANDOM_PER_PROCESS = 300
HOT_PER_PROCESS = 50

Transfer = tuple[str, str, str, int]  # entry id, debit account, credit account, amount


@pytest.fixture(scope="module")
def ledger_url(postgres_server_url: str) -> Iterator[str]:
    name = f"tributary_workers_{uuid.uuid4().hex[:10]}"
    url = create_database(postgres_server_url, name)
    try:
        yield url
    finally:
        drop_database(postgres_server_url, name)


async def _setup(url: str) -> tuple[list[str], str]:
    database = Database.from_settings(Settings(database_url=url))
    await upgrade(database.engine)

    async def work(session: AsyncSession) -> tuple[list[str], str]:
        ledger = Ledger(session)
        world = await ledger.open_account(code="world", currency="USD", owner_ref="w", shards=8)
        wallets = []
        for index in range(WALLETS + 1):
            wallet = await ledger.open_account(
                code="wallet",
                currency="USD",
                owner_ref=f"o{index}",
                flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            )
            await ledger.transfer(
                entry_id=uuid.uuid4(),
                debit_account_id=world.id,
                credit_account_id=wallet.id,
                amount=HOT_FUNDING if index == WALLETS else FUNDING,
                kind="fund",
            )
            wallets.append(str(wallet.id))
        return wallets[:-1], wallets[-1]

    try:
        return await database.transaction(work)
    finally:
        await database.dispose()


async def _fire(
    url: str, wallets: list[str], hot: str, seed: int
) -> tuple[list[Transfer], Counter[str]]:
    database = Database.from_settings(Settings(database_url=url, db_pool_size=8))
    rng = random.Random(seed)
    plans = [
        (rng.choice(wallets), rng.choice(wallets), rng.randint(1, 200))
        for _ in range(RANDOM_PER_PROCESS)
    ]
    plans += [(hot, rng.choice(wallets), HOT_AMOUNT) for _ in range(HOT_PER_PROCESS)]
    rng.shuffle(plans)
    done: list[Transfer] = []
    outcomes: Counter[str] = Counter()
    semaphore = asyncio.Semaphore(8)

    async def one(source: str, target: str, amount: int) -> None:
        if source == target:
            return
        entry_id = uuid.uuid4()
        async with semaphore:
            try:
                await database.transaction(
                    lambda s: Ledger(s).transfer(
                        entry_id=entry_id,
                        debit_account_id=uuid.UUID(source),
                        credit_account_id=uuid.UUID(target),
                        amount=amount,
                        kind="race",
                    )
                )
            except LimitExceeded:
                outcomes["limit"] += 1
                return
            except Exception as error:  # reported to the parent, which fails the test
                outcomes[type(error).__name__] += 1
                return
        outcomes["ok"] += 1
        done.append((str(entry_id), source, target, amount))

    try:
        await asyncio.gather(*(one(*plan) for plan in plans))
    finally:
        await database.dispose()
    return done, outcomes


def _worker(args: tuple[str, list[str], str, int]) -> tuple[list[Transfer], Counter[str]]:
    return asyncio.run(_fire(*args))


async def _fresh_wallet(url: str, amount: int) -> tuple[str, str]:
    """A new wallet holding exactly `amount`, and a pledge-like account to hold into."""
    database = Database.from_settings(Settings(database_url=url))
    await upgrade(database.engine)
    owner = uuid.uuid4().hex

    async def work(session: AsyncSession) -> tuple[str, str]:
        ledger = Ledger(session)
        world = await ledger.open_account(code="world", currency="USD", owner_ref=owner)
        limited = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
        wallet = await ledger.open_account(
            code="wallet", currency="USD", owner_ref=owner, flags=limited
        )
        pledge = await ledger.open_account(
            code="pledge", currency="USD", owner_ref=owner, flags=limited
        )
        await ledger.transfer(
            entry_id=uuid.uuid4(),
            debit_account_id=world.id,
            credit_account_id=wallet.id,
            amount=amount,
            kind="fund",
        )
        return str(wallet.id), str(pledge.id)

    try:
        return await database.transaction(work)
    finally:
        await database.dispose()


async def _hold_once(url: str, wallet: str, target: str) -> bool:
    database = Database.from_settings(Settings(database_url=url, db_pool_size=2))
    try:
        await database.transaction(
            lambda s: Ledger(s).hold(
                entry_id=uuid.uuid4(),
                debit_account_id=uuid.UUID(wallet),
                credit_account_id=uuid.UUID(target),
                amount=1_000,
                kind="pledge_hold",
            )
        )
        return True
    except LimitExceeded:
        return False
    finally:
        await database.dispose()


def _hold_worker(args: tuple[str, str, str, int]) -> list[bool]:
    url, wallet, target, count = args

    async def run() -> list[bool]:
        return list(await asyncio.gather(*(_hold_once(url, wallet, target) for _ in range(count))))

    return asyncio.run(run())


async def _balances(url: str, ids: list[str]) -> tuple[dict[str, int], dict[str, int], bool]:
    database = Database.from_settings(Settings(database_url=url))
    try:
        async with database.read() as session:
            ledger = Ledger(session)
            found = await ledger.balances(uuid.UUID(i) for i in ids)
            report = await ledger.verify()
    finally:
        await database.dispose()
    available = {str(k): v.available_credit for k, v in found.items()}
    held = {str(k): v.debits_pending for k, v in found.items()}
    return available, held, report.ok


def test_thousands_of_conflicting_transfers_from_four_processes_add_up_exactly(
    ledger_url: str,
) -> None:
    wallets, hot = asyncio.run(_setup(ledger_url))
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.map(_worker, [(ledger_url, wallets, hot, seed) for seed in range(PROCESSES)])
    outcomes: Counter[str] = Counter()
    expected = {wallet: FUNDING for wallet in wallets} | {hot: HOT_FUNDING}
    for done, counted in results:
        outcomes.update(counted)
        for _, source, target, amount in done:
            expected[source] -= amount
            expected[target] += amount
    assert set(outcomes) <= {"ok", "limit"}, outcomes
    assert outcomes["ok"] + outcomes["limit"] >= PROCESSES * RANDOM_PER_PROCESS
    hot_paid = sum(1 for done, _ in results for _, source, _, _ in done if source == hot)
    assert hot_paid == HOT_FUNDING // HOT_AMOUNT  # 200 tried, exactly 100 could be paid
    available, _, ok = asyncio.run(_balances(ledger_url, [*wallets, hot]))
    assert available == expected
    assert all(value >= 0 for value in available.values())
    assert ok


def test_forty_holds_of_a_tenth_from_four_processes_succeed_exactly_ten_times(
    ledger_url: str,
) -> None:
    funded, target = asyncio.run(_fresh_wallet(ledger_url, 10_000))
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.map(_hold_worker, [(ledger_url, funded, target, 10)] * PROCESSES)
    outcomes = Counter(result for batch in results for result in batch)
    assert outcomes == {True: 10, False: 30}
    available, held, ok = asyncio.run(_balances(ledger_url, [funded]))
    assert (available[funded], held[funded]) == (0, 10_000)
    assert ok


async def _empty_sharded_wallet(url: str) -> tuple[str, str]:
    """A world account and an empty wallet with as many shards as the app's wallets."""
    database = Database.from_settings(Settings(database_url=url))
    await upgrade(database.engine)
    owner = uuid.uuid4().hex

    async def work(session: AsyncSession) -> tuple[str, str]:
        ledger = Ledger(session)
        world = await ledger.open_account(code="world", currency="USD", owner_ref=owner, shards=8)
        wallet = await ledger.open_account(
            code="wallet",
            currency="USD",
            owner_ref=owner,
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            shards=8,
        )
        return str(world.id), str(wallet.id)

    try:
        return await database.transaction(work)
    finally:
        await database.dispose()


async def _credit_once(url: str, world: str, wallet: str, amount: int) -> bool:
    database = Database.from_settings(Settings(database_url=url, db_pool_size=2))
    try:
        await database.transaction(
            lambda s: Ledger(s).transfer(
                entry_id=uuid.uuid4(),
                debit_account_id=uuid.UUID(world),
                credit_account_id=uuid.UUID(wallet),
                amount=amount,
                kind="deposit",
            )
        )
        return True
    except BalanceLimitExceeded:
        return False
    finally:
        await database.dispose()


def _credit_worker(args: tuple[str, str, str, int, int]) -> list[bool]:
    url, world, wallet, amount, count = args

    async def run() -> list[bool]:
        credits = (_credit_once(url, world, wallet, amount) for _ in range(count))
        return list(await asyncio.gather(*credits))

    return asyncio.run(run())


def test_forty_credits_of_a_tenth_of_the_limit_into_a_sharded_wallet_succeed_ten_times(
    ledger_url: str,
) -> None:
    """Credits land on different shard rows; the limit holds for their sum, not per row."""
    world, wallet = asyncio.run(_empty_sharded_wallet(ledger_url))
    tenth = MAX_BALANCE // 10
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.map(_credit_worker, [(ledger_url, world, wallet, tenth, 10)] * PROCESSES)
    outcomes = Counter(result for batch in results for result in batch)
    assert outcomes == {True: 10, False: 30}
    available, _, ok = asyncio.run(_balances(ledger_url, [wallet]))
    assert available[wallet] == 10 * tenth
    assert ok
