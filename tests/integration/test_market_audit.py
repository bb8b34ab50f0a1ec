"""verify reports every breach of the market's books, and sees one moment while others write.

Each breach is made behind the application's back (as a bug or a hand edit would), then
both the admin's `GET /v1/ledger/verify` and `tributary verify` (in its own process) must
name it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from app.db import Database
from app.domain.identity.caller import Caller
from app.domain.ledger_audit import verify_all
from app.domain.pledges import service as pledges
from tests.conftest import _settings
from tests.support.factories import ADMIN, make_org
from tests.support.market import funder, future, open_challenge, pledge

pytestmark = pytest.mark.tampers_ledger


async def _market(client: httpx.AsyncClient) -> dict[str, Any]:
    """A challenge with a direct pledge (8,000 of it awarded) and a held threshold pledge."""
    challenge, steward = await open_challenge(client)
    backer = await funder(client, 20_000)
    direct = await pledge(client, backer, challenge["id"], amount=10_000)
    held = await pledge(
        client,
        backer,
        challenge["id"],
        kind="threshold",
        amount=1_000,
        threshold_amount=1_000_000,
        deadline=future(10),
    )
    milestone = await client.post(
        f"/v1/challenges/{challenge['id']}/milestones",
        json={
            "title": "Wells",
            "metric": "wells",
            "unit": "wells",
            "target": 10,
            "payout_rule": "pro_rata",
            "budget_cap": 10_000,
            "quorum": 1,
            "due_at": future(30),
        },
        headers=steward.headers,
    )
    lead = await make_org(client, "actor")
    swarm = await client.post(
        "/v1/swarms",
        json={"name": "Solo", "members": [{"org_id": lead.id, "share_bps": 10_000}]},
        headers=lead.headers,
    )
    bid = await client.post(
        f"/v1/milestones/{milestone.json()['id']}/bids",
        json={"swarm_id": swarm.json()["id"], "amount": 8_000, "plan": "dig"},
        headers=lead.headers,
    )
    awarded = await client.post(f"/v1/bids/{bid.json()['id']}/award", headers=steward.headers)
    assert awarded.status_code == 200, awarded.text
    return {
        "challenge": challenge,
        "direct": direct.json(),
        "held": held.json(),
        "milestone": milestone.json(),
        "bid": bid.json(),
        "backer": backer,
    }


async def _tamper(database: Database, statement: str, **params: Any) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text(statement), params)


async def _checks(client: httpx.AsyncClient) -> set[str]:
    report = (await client.get("/v1/ledger/verify", headers=ADMIN)).json()
    assert report["ok"] is False
    return {violation["check"] for violation in report["violations"]}


def _cli_checks(database_url: str) -> set[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "verify"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1, done.stderr
    return {violation["check"] for violation in json.loads(done.stdout)["violations"]}


async def test_an_ended_pledge_that_holds_money_is_reported(
    client: httpx.AsyncClient, database: Database, database_url: str
) -> None:
    market = await _market(client)
    await _tamper(
        database,
        "UPDATE pledges SET status = 'expired' WHERE id = :id",
        id=_row_id(database_url, market["direct"]["id"]),
    )
    assert "ended_pledge_holds_money" in await _checks(client)
    assert "ended_pledge_holds_money" in _cli_checks(database_url)


async def test_an_ended_milestone_that_holds_escrow_is_reported(
    client: httpx.AsyncClient, database: Database, database_url: str
) -> None:
    market = await _market(client)
    await _tamper(
        database,
        "UPDATE milestones SET status = 'failed' WHERE id = :id",
        id=_row_id(database_url, market["milestone"]["id"]),
    )
    assert "ended_milestone_holds_escrow" in await _checks(client)
    assert "ended_milestone_holds_escrow" in _cli_checks(database_url)


async def test_a_hold_the_pledge_forgot_is_reported_with_the_totals_it_skews(
    client: httpx.AsyncClient, database: Database, database_url: str
) -> None:
    market = await _market(client)
    await _tamper(
        database,
        "UPDATE pledges SET hold_entry_id = NULL WHERE id = :id",
        id=_row_id(database_url, market["held"]["id"]),
    )
    assert {"pledge_hold_mismatch", "challenge_totals_differ"} <= await _checks(client)


async def test_escrow_that_differs_from_the_award_is_reported(
    client: httpx.AsyncClient, database: Database, database_url: str
) -> None:
    market = await _market(client)
    await _tamper(
        database,
        "UPDATE bids SET amount = amount + 1 WHERE id = :id",
        id=_row_id(database_url, market["bid"]["id"]),
    )
    assert "escrow_differs_from_award" in await _checks(client)


def _row_id(database_url: str, value: str) -> str:
    """Uuid columns are 32 hex digits on SQLite, canonical text on PostgreSQL."""
    return value.replace("-", "") if database_url.startswith("sqlite") else value


async def test_verify_sees_one_moment_while_another_process_writes(
    client: httpx.AsyncClient, database: Database, database_url: str
) -> None:
    """A pledge commits elsewhere between verify's read of the journal and its read of the
    rollup: in one snapshot verify sees neither half of it, so nothing looks broken."""
    challenge, _ = await open_challenge(client)
    backer = await funder(client, 50_000)
    assert (await pledge(client, backer, challenge["id"], amount=1_000)).status_code == 201
    caller = Caller(kind="org", org_id=uuid.UUID(backer.id), roles=frozenset({"funder"}))
    spec = pledges.PledgeSpec(amount=2_000, kind="direct")

    async def pledge_elsewhere() -> None:
        other = Database.from_settings(_settings(database_url))
        try:
            await other.transaction(
                lambda s: pledges.create_pledge(s, caller, uuid.UUID(challenge["id"]), spec)
            )
        finally:
            await other.dispose()

    fired: list[bool] = []

    def between_queries(*args: Any) -> None:
        statement = str(args[2])
        if not fired and "ledger_accounts.code IN" in statement:
            fired.append(True)
            writer = threading.Thread(target=lambda: asyncio.run(pledge_elsewhere()))
            writer.start()
            writer.join()

    async with database.snapshot() as session:
        connection = await session.connection()
        event.listen(connection.sync_connection, "after_cursor_execute", between_queries)
        report = await verify_all(session)
    assert fired
    assert report.ok, report.violations
    async with database.snapshot() as session:
        assert (await verify_all(session)).ok
    assert (await client.get(f"/v1/challenges/{challenge['id']}")).json()["totals"][
        "available"
    ] == 3_000


async def test_a_bonus_left_in_an_ended_challenge_or_differing_from_its_account_is_reported(
    client: httpx.AsyncClient, database: Database, database_url: str
) -> None:
    challenge, _ = await open_challenge(client)
    sponsor = await funder(client, 5_000)
    offered = await client.post(
        f"/v1/challenges/{challenge['id']}/assurance-bonus",
        json={"amount": 5_000, "bonus_bps": 100},
        headers=sponsor.headers,
    )
    assert offered.status_code == 201, offered.text
    bonus_id = _row_id(database_url, offered.json()["id"])
    await _tamper(
        database, "UPDATE assurance_bonuses SET remaining = 1 WHERE id = :id", id=bonus_id
    )
    assert "bonus_remaining_differs" in await _checks(client)
    await _tamper(
        database,
        "UPDATE challenges SET status = 'cancelled' WHERE id = :id",
        id=_row_id(database_url, challenge["id"]),
    )
    assert "ended_challenge_holds_bonus" in await _checks(client)
    assert "ended_challenge_holds_bonus" in _cli_checks(database_url)


async def test_an_ended_milestone_that_holds_verifier_fees_is_reported(
    client: httpx.AsyncClient, database: Database, database_url: str
) -> None:
    """Fee escrow counts: an unawarded milestone holding only its verifiers' fees."""
    challenge, steward = await open_challenge(client)
    backer = await funder(client, 5_000)
    await pledge(client, backer, challenge["id"], amount=5_000)
    milestone = await client.post(
        f"/v1/challenges/{challenge['id']}/milestones",
        json={
            "title": "Wells",
            "metric": "wells",
            "unit": "wells",
            "target": 10,
            "payout_rule": "pro_rata",
            "budget_cap": 1_000,
            "quorum": 1,
            "due_at": future(30),
            "verifier_fee": 1_000,
        },
        headers=steward.headers,
    )
    verifier = await make_org(client, "verifier")
    assigned = await client.put(
        f"/v1/milestones/{milestone.json()['id']}/verifiers",
        json={"org_ids": [verifier.id]},
        headers=steward.headers,
    )
    assert assigned.status_code == 200, assigned.text
    await _tamper(
        database,
        "UPDATE milestones SET status = 'cancelled' WHERE id = :id",
        id=_row_id(database_url, milestone.json()["id"]),
    )
    assert "ended_milestone_holds_escrow" in await _checks(client)
