"""A milestone whose dispute window closed is paid exactly once, however many due-work
processes reach it at once: the first pays under its challenge's lock (paused here, at its
payout row, by a sleeping trigger), the other skips the locked challenge, and a later round
finds nothing left to pay."""

from __future__ import annotations

import httpx
import pytest

from app.db import Database
from tests.api.test_disputes import milestone_of, verified
from tests.concurrency.test_stranded_money import LATER, _books_hold
from tests.support.due_race import due_report, start_due_worker
from tests.support.market import available
from tests.support.slow_sql import slow_down, wait_for_sleeper

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]


async def test_two_workers_pay_a_closed_dispute_window_once(
    race_client: httpx.AsyncClient, race_db: Database, race_url: str
) -> None:
    world = await verified(race_client, 3)
    assert (await milestone_of(race_client, world.milestone_id))["status"] == "payout_pending"
    slow_down(race_url, table="payouts", event="INSERT", when="TRUE", seconds=1.5)
    first = start_due_worker(race_url, LATER, "dispute_windows")
    wait_for_sleeper(race_url)
    second = start_due_worker(race_url, LATER, "dispute_windows")
    reports = [due_report(first), due_report(second)]
    again = due_report(start_due_worker(race_url, LATER, "dispute_windows"))
    paid = [r["processed"]["dispute_windows"] for r in [*reports, again]]
    assert sorted(paid) == [0, 0, 1]
    done = await milestone_of(race_client, world.milestone_id)
    assert (done["status"], done["payout"]["amount"]) == ("paid", 400_000)
    assert await available(race_client, world.lead) == (240_000, 0)
    assert await available(race_client, world.partner) == (160_000, 0)
    await _books_hold(race_db)
