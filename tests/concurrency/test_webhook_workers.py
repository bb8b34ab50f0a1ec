"""Two `tributary worker` processes deliver one PostgreSQL outbox at once: every event
reaches the receiver exactly once, and no delivery is ever in flight in both."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.domain.events.webhooks import register
from app.domain.identity import service as identity
from app.domain.identity.caller import ADMIN, Caller
from app.domain.money import service as money
from app.settings import Settings
from tests.support.receiver import webhook_receiver
from tests.support.scratch_db import scratch_database
from tests.support.servers import server_env

pytestmark = pytest.mark.postgres_only

EVENTS = 30


@pytest.fixture
def outbox_url(postgres_server_url: str) -> Iterator[str]:
    with scratch_database(postgres_server_url, "outbox") as url:
        yield url


async def _fill(url: str, receiver_url: str) -> None:
    database = Database.from_settings(Settings(database_url=url))

    async def work(session: AsyncSession) -> None:
        org = await identity.create_org(
            session, ADMIN, name="Outbox Org", public_name=None, roles=["funder"]
        )
        caller = Caller(kind="org", org_id=org.id, roles=frozenset(["funder"]))
        await register(
            session, caller, url=receiver_url, event_types=["deposit.created"], allow_private=True
        )
        for n in range(EVENTS):
            await money.deposit(
                session, ADMIN, org.id, amount=1 + n, currency="USD", external_ref=f"o-{n}"
            )

    try:
        await database.transaction(work)
    finally:
        await database.dispose()


def test_two_worker_processes_deliver_each_event_once(outbox_url: str, tmp_path: Path) -> None:
    with webhook_receiver(delay=0.05) as receiver:
        asyncio.run(_fill(outbox_url, receiver.url))
        env = server_env(
            outbox_url,
            TRIBUTARY_WEBHOOK_ALLOW_PRIVATE="true",
            TRIBUTARY_WEBHOOK_RETRY_SCALE="0",
        )
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", "--interval", "0.05"],
                env=env,
                stdout=(tmp_path / f"worker-{n}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            for n in range(2)
        ]
        try:
            deadline = time.monotonic() + 60
            while len(receiver.received) < EVENTS and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)  # anything sent twice would arrive by now
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    logs = "\n".join(p.read_text() for p in tmp_path.glob("worker-*.log"))
    assert len(ids) == EVENTS, logs
    assert len(set(ids)) == EVENTS
    assert all(worker.returncode == 0 for worker in workers), logs
