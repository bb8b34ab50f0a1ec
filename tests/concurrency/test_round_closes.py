"""Due work closes a matching round exactly once, however many processes run it at once.

Each race is run for real: due-work runners in several OS processes against one PostgreSQL
database. In the first, a trigger that sleeps (tests/support/slow_sql.py) pauses the closing
transaction at its last write, while it holds the round, and a second runner starts exactly
then; in the second, three runners start together on several rounds.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.db import Database
from app.domain.ledger_audit import verify_all
from tests.support.due_race import due_report, start_due_worker
from tests.support.factories import ADMIN
from tests.support.market import available, funder, open_challenge, pledge, totals
from tests.support.slow_sql import slow_down, wait_for_sleeper

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

ENDS = datetime.now(UTC) + timedelta(days=1)
LATER = ENDS + timedelta(days=1)


def _runner(url: str) -> subprocess.Popen[str]:
    return start_due_worker(url, LATER, "round_closes")


def _closed_by(process: subprocess.Popen[str]) -> int:
    return int(due_report(process)["processed"]["round_closes"])


async def _issue_round(client: httpx.AsyncClient) -> dict[str, Any]:
    """100,000 at a 20% floor over A (four funders x 2,500) and B (one x 10,000)."""
    sponsor = await funder(client, 100_000)
    a, _ = await open_challenge(client, title="A")
    b, _ = await open_challenge(client, title="B")
    made = await client.post(
        "/v1/rounds",
        json={
            "name": "Race",
            "currency": "USD",
            "matching_pool": 100_000,
            "challenge_ids": [a["id"], b["id"]],
            "starts_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "ends_at": ENDS.isoformat(),
            "floor_bps": 2_000,
        },
        headers=sponsor.headers,
    )
    assert made.status_code == 201, made.text
    for _ in range(4):
        assert (await pledge(client, await funder(client, 2_500), a["id"], amount=2_500)).is_success
    assert (await pledge(client, await funder(client, 10_000), b["id"], amount=10_000)).is_success
    return {"sponsor": sponsor, "a": a, "b": b, "round": made.json()}


async def _closed_once(
    client: httpx.AsyncClient, database: Database, world: dict[str, Any]
) -> None:
    shown = (await client.get(f"/v1/rounds/{world['round']['id']}")).json()
    assert shown["status"] == "closed"
    assert [c["matched"] for c in shown["challenges"]] == [90_000, 10_000]
    assert (await totals(client, world["a"]["id"]))["available"] == 100_000
    assert (await totals(client, world["b"]["id"]))["available"] == 20_000
    pledges = await client.get(f"/v1/orgs/{world['sponsor'].id}/pledges", headers=ADMIN)
    assert sorted(p["amount"] for p in pledges.json()["items"]) == [10_000, 90_000]
    assert await available(client, world["sponsor"]) == (0, 0)
    async with database.snapshot() as session:
        report = await verify_all(session)
    assert report.ok, report.violations


async def test_a_runner_meeting_a_round_being_closed_leaves_it_alone(
    race_client: httpx.AsyncClient, race_db: Database, race_url: str
) -> None:
    world = await _issue_round(race_client)
    slow_down(race_url, table="rounds", event="UPDATE", when="NEW.status = 'closed'", seconds=1.5)
    first = _runner(race_url)
    wait_for_sleeper(race_url)
    second = _runner(race_url)
    assert (_closed_by(first), _closed_by(second)) == (1, 0)
    assert _closed_by(_runner(race_url)) == 0
    await _closed_once(race_client, race_db, world)


async def test_three_runners_at_once_close_each_round_exactly_once(
    race_client: httpx.AsyncClient, race_db: Database, race_url: str
) -> None:
    worlds = [await _issue_round(race_client) for _ in range(4)]
    runners = [_runner(race_url) for _ in range(3)]
    assert sum(_closed_by(runner) for runner in runners) == len(worlds)
    for world in worlds:
        await _closed_once(race_client, race_db, world)
