"""The demo market: created once, balanced, and visible through the API."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from app.db import Database
from app.demo import seed
from app.ledger import Ledger


async def test_demo_creates_a_balanced_market_once(
    database: Database, client: httpx.AsyncClient
) -> None:
    keys = await seed(database)
    assert keys is not None
    assert {key.org for key in keys} >= {"Lake Basin Water Trust", "Aqua Foundation"}
    assert await seed(database) is None
    async with database.read() as session:
        assert (await Ledger(session).verify()).ok
        kinds = set((await session.execute(text("SELECT DISTINCT kind FROM pledges"))).scalars())
    assert kinds == {"direct", "threshold", "match"}
    listed = (await client.get("/v1/challenges?status=open&sdg=6")).json()["items"]
    assert len(listed) == 3
    kisumu = next(c for c in listed if c["region"] == "KE-17")
    assert kisumu["totals"]["available"] == 15_250_000
    funder = next(k for k in keys if k.org == "Aqua Foundation")
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {funder.secret}"})
    assert me.json()["name"] == "Aqua Foundation"
