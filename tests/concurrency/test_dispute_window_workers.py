"""A milestone whose dispute window closed is paid exactly once, however many due-work
processes reach it at once: the first pays under its challenge's lock (paused here, at its
payout row, by a sleeping trigger), the other skips the locked challenge, and a later round
finds nothing left to pay."""

from __future__ import annotations

import httpx
import pytest

from app.db import Database
from tests.api.test_disputes import milestone_of, verified
from tests.concurrency.test_stranded_money import (  # noqa: F401 - fixtures
    _books_hold,
    _due_worker,
    _report,
    race_client,
    race_db,
    race_url,
)
from tests.support.market import available
from tests.support.slow_sql import slow_down, wait_for_sleeper

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]


async def test_two_workers_pay_a_closed_dispute_window_once(
    race_client: httpx.AsyncClient,  # noqa: F811 - the fixtures imported above
    race_db: Database,  # noqa: F811
    race_url: str,  # noqa: F811
) -> None:
    world = await verified(race_client, 3)
    assert (await milestone_of(race_client, world.milestone_id))["status"] == "payout_pending"
    slow_down(race_url, table="payouts", event="INSERT", when="TRUE", seconds=1.5)
    first = _due_worker(race_url, "dispute_windows")
    wait_for_sleeper(race_url)
    second = _due_worker(race_url, "dispute_windows")
    reports = [_report(first), _report(second)]
    again = _report(_due_worker(race_url, "dispute_windows"))
    paid = [r["processed"]["dispute_windows"] for r in [*reports, again]]
    assert sorted(paid) == [0, 0, 1]
    done = await milestone_of(race_client, world.milestone_id)
    assert (done["status"], done["payout"]["amount"]) == ("paid", 400_000)
    assert await available(race_client, world.lead) == (240_000, 0)
    assert await available(race_client, world.partner) == (160_000, 0)
    await _books_hold(race_db)
