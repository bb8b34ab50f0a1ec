"""verify reports a round whose escrow differs from its pool (open) or is not empty
(closed); the breach is made behind the application's back, as a bug or hand edit would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from tests.support.factories import ADMIN
from tests.support.market import funder, open_challenge

pytestmark = pytest.mark.tampers_ledger


async def _checks(client: httpx.AsyncClient) -> list[tuple[str, list[object]]]:
    report = (await client.get("/v1/ledger/verify", headers=ADMIN)).json()
    return [(v["check"], v["row"]) for v in report["violations"]]


async def test_a_round_escrow_that_differs_from_its_pool_is_reported(
    client: httpx.AsyncClient, database: Database
) -> None:
    sponsor = await funder(client, 10_000)
    challenge, _ = await open_challenge(client)
    made = await client.post(
        "/v1/rounds",
        json={
            "name": "Audited",
            "currency": "USD",
            "matching_pool": 5_000,
            "challenge_ids": [challenge["id"]],
            "starts_at": datetime.now(UTC).isoformat(),
            "ends_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        },
        headers=sponsor.headers,
    )
    assert made.status_code == 201, made.text
    round_id = made.json()["id"]
    assert await _checks(client) == []
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE rounds SET status = 'closed'"))
    assert await _checks(client) == [("round_escrow_differs", [round_id, "closed", 0])]
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE rounds SET status = 'open', matching_pool = 4999"))
    assert await _checks(client) == [("round_escrow_differs", [round_id, "open", 4_999])]
