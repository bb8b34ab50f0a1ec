"""Money never strands in an ended pledge, whichever process ends what first.

Each race is run for real: due work in several OS processes (and an attestation in a real
server) against one PostgreSQL database. A trigger that sleeps (tests/support/slow_sql.py)
pauses the first transaction at the worst moment, while it holds what it has locked, and
the competing process starts exactly then, as it could in production with two due-work
processes or an attestation landing at the expiry moment.
"""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db import Database
from app.domain.ledger_audit import verify_all
from tests.support.due_race import due_report, start_due_worker
from tests.support.factories import ADMIN, OrgHandle, make_org
from tests.support.market import funder, open_challenge, pledge, read_pledge
from tests.support.servers import start_server, stop_server
from tests.support.slow_sql import deadlocks, slow_down, wait_for_sleeper

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

LATER = datetime.now(UTC) + timedelta(days=2)  # every deadline of these tests has passed


def _due_worker(url: str, *jobs: str) -> subprocess.Popen[str]:
    return start_due_worker(url, LATER, *jobs)


async def _escrowed_pledge(
    client: httpx.AsyncClient, *, due_in_days: float, quorum: int = 1
) -> dict[str, Any]:
    """A funder's 10,000 direct pledge expiring in a day, 6,000 of it awarded into a
    milestone's escrow; the milestone is due in `due_in_days`."""
    challenge, steward = await open_challenge(client)
    backer = await funder(client, 10_000)
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    created = await pledge(client, backer, challenge["id"], amount=10_000, expires_at=soon)
    assert created.status_code == 201, created.text
    milestone = await client.post(
        f"/v1/challenges/{challenge['id']}/milestones",
        json={
            "title": "Boreholes",
            "metric": "working boreholes",
            "unit": "boreholes",
            "target": 100,
            "payout_rule": "pro_rata",
            "budget_cap": 10_000,
            "quorum": quorum,
            "due_at": (datetime.now(UTC) + timedelta(days=due_in_days)).isoformat(),
        },
        headers=steward.headers,
    )
    assert milestone.status_code == 201, milestone.text
    lead = await make_org(client, "actor")
    swarm = await client.post(
        "/v1/swarms",
        json={"name": "Solo", "members": [{"org_id": lead.id, "share_bps": 10_000}]},
        headers=lead.headers,
    )
    bid = await client.post(
        f"/v1/milestones/{milestone.json()['id']}/bids",
        json={"swarm_id": swarm.json()["id"], "amount": 6_000, "plan": "drill"},
        headers=lead.headers,
    )
    awarded = await client.post(f"/v1/bids/{bid.json()['id']}/award", headers=steward.headers)
    assert awarded.status_code == 200, awarded.text
    return {
        "pledge": created.json(),
        "milestone": milestone.json(),
        "steward": steward,
        "lead": lead,
        "backer": backer,
    }


async def _wallet(client: httpx.AsyncClient, org: OrgHandle) -> int:
    rows = (await client.get(f"/v1/orgs/{org.id}/balances", headers=ADMIN)).json()["balances"]
    return int(next(r["available"] for r in rows if r["currency"] == "USD"))


async def _books_hold(database: Database) -> None:
    async with database.snapshot() as session:
        report = await verify_all(session)
    assert report.ok, report.violations


async def test_expiry_racing_a_milestone_failure_strands_nothing(
    race_client: httpx.AsyncClient, race_db: Database, race_url: str
) -> None:
    market = await _escrowed_pledge(race_client, due_in_days=1)
    # The failure pauses at its last write, holding the escrow it returned to the pledge.
    slow_down(
        race_url, table="milestones", event="UPDATE", when="NEW.status = 'failed'", seconds=1.5
    )
    failing = _due_worker(race_url, "milestone_due_dates")
    wait_for_sleeper(race_url)
    expiring = _due_worker(race_url, "pledge_expiry")
    due_report(failing), due_report(expiring)
    due_report(_due_worker(race_url, "pledge_expiry", "milestone_due_dates"))  # the next round

    ended = await read_pledge(race_client, market["pledge"]["id"])
    assert ended["status"] == "expired"
    assert ended["available"] == 0
    assert await _wallet(race_client, market["backer"]) == 10_000
    await _books_hold(race_db)


async def test_expiry_racing_an_attestation_that_pays_nothing_strands_nothing(
    race_client: httpx.AsyncClient, race_db: Database, race_url: str, tmp_path: Path
) -> None:
    market = await _escrowed_pledge(race_client, due_in_days=3)
    verifier = await make_org(race_client, "verifier")
    milestone_id = market["milestone"]["id"]
    assigned = await race_client.put(
        f"/v1/milestones/{milestone_id}/verifiers",
        json={"org_ids": [verifier.id]},
        headers=market["steward"].headers,
    )
    assert assigned.status_code == 200, assigned.text
    claim = await race_client.post(
        f"/v1/milestones/{milestone_id}/claims",
        json={"reported_value": 0, "evidence": [{"uri": "https://example.org/report.pdf"}]},
        headers=market["lead"].headers,
    )
    assert claim.status_code == 201, claim.text
    slow_down(race_url, table="payouts", event="INSERT", when="TRUE", seconds=1.5)
    server = start_server(race_url, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            attest = asyncio.create_task(
                http.post(
                    f"/v1/claims/{claim.json()['id']}/attestations",
                    json={"verdict": "approve", "value": 0},
                    headers=verifier.headers,
                )
            )
            await asyncio.to_thread(wait_for_sleeper, race_url)
            await asyncio.to_thread(due_report, _due_worker(race_url, "pledge_expiry"))
            assert (await attest).status_code == 201
    finally:
        stop_server(server)
    due_report(_due_worker(race_url, "pledge_expiry"))

    ended = await read_pledge(race_client, market["pledge"]["id"])
    assert ended["status"] == "expired"
    assert ended["available"] == 0
    assert await _wallet(race_client, market["backer"]) == 10_000
    await _books_hold(race_db)


async def test_rollovers_between_two_challenges_never_deadlock(
    race_client: httpx.AsyncClient, race_db: Database, race_url: str
) -> None:
    first, _ = await open_challenge(race_client)
    second, _ = await open_challenge(race_client)
    backer = await funder(race_client, 10_000)
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for here, there in ((first, second), (second, first)):
        held = await pledge(
            race_client,
            backer,
            here["id"],
            kind="threshold",
            amount=1_000,
            threshold_amount=1_000_000,
            deadline=(datetime.now(UTC) + timedelta(days=5)).isoformat(),
            expires_at=soon,
            on_expiry="rollover",
            rollover_challenge_id=there["id"],
        )
        assert held.status_code == 201, held.text
    before = deadlocks(race_url)
    # Each expiry pauses after voiding its hold, holding its challenge's lock.
    slow_down(
        race_url,
        table="ledger_entries",
        event="INSERT",
        when="NEW.kind = 'pledge_release'",
        seconds=1.5,
    )
    one = _due_worker(race_url, "pledge_expiry")
    wait_for_sleeper(race_url)
    other = _due_worker(race_url, "pledge_expiry")
    due_report(one), due_report(other)
    due_report(_due_worker(race_url, "pledge_expiry"))

    assert deadlocks(race_url) == before
    assert await _wallet(race_client, backer) == 10_000
    await _books_hold(race_db)
