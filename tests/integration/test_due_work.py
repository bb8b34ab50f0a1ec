"""Due work: runs on its own, does each thing once even when run concurrently."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.domain.due_work import run_due_work
from app.ledger import AccountFlags, Ledger
from app.main import create_app
from app.settings import Settings
from app.sql.types import utcnow


async def expired_holds(database: Database, count: int, amount: int = 10) -> uuid.UUID:
    """A funded wallet with `count` holds that timed out a second ago; returns the wallet."""
    owner = uuid.uuid4().hex

    async def work(session: AsyncSession) -> uuid.UUID:
        ledger = Ledger(session)
        world = await ledger.open_account(code="world", currency="USD", owner_ref=owner, shards=4)
        wallet = await ledger.open_account(
            code="wallet",
            currency="USD",
            owner_ref=owner,
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        )
        await ledger.transfer(
            entry_id=uuid.uuid4(),
            debit_account_id=world.id,
            credit_account_id=wallet.id,
            amount=count * amount,
            kind="deposit",
        )
        for _ in range(count):
            await ledger.hold(
                entry_id=uuid.uuid4(),
                debit_account_id=wallet.id,
                credit_account_id=world.id,
                amount=amount,
                kind="hold",
                timeout_at=utcnow() - timedelta(seconds=1),
            )
        return wallet.id

    return await database.transaction(work)


async def held(database: Database, wallet_id: uuid.UUID) -> int:
    async with database.read() as session:
        return (await Ledger(session).balance(wallet_id)).debits_pending


async def test_due_work_voids_timed_out_holds_and_then_has_nothing_to_do(
    database: Database,
) -> None:
    wallet = await expired_holds(database, 3)
    first = await run_due_work(database)
    second = await run_due_work(database)
    assert first.processed["pending_timeouts"] == 3
    assert set(second.processed) >= {"pending_timeouts", "idempotency_expiry"}
    assert all(count == 0 for count in second.processed.values())
    assert first.failed == second.failed == []
    assert await held(database, wallet) == 0


async def test_concurrent_due_work_runs_void_each_hold_exactly_once(database: Database) -> None:
    wallet = await expired_holds(database, 250)
    reports = await asyncio.gather(*(run_due_work(database) for _ in range(4)))
    while (await run_due_work(database)).processed["pending_timeouts"]:
        pass
    assert sum(report.processed["pending_timeouts"] for report in reports) <= 250
    assert all(not report.failed for report in reports)
    assert await held(database, wallet) == 0
    async with database.read() as session:
        assert (await Ledger(session).verify()).ok


async def test_the_app_runs_due_work_by_itself(database: Database, settings: Settings) -> None:
    wallet = await expired_holds(database, 2)
    app = create_app(settings.model_copy(update={"due_work_interval_seconds": 0.05}), database)
    async with app.router.lifespan_context(app):
        for _ in range(100):
            if await held(database, wallet) == 0:
                break
            await asyncio.sleep(0.05)
    assert await held(database, wallet) == 0


async def test_verify_command_reports_ok(database: Database, database_url: str) -> None:
    await expired_holds(database, 1)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli", "verify"],
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"ok": true' in result.stdout
