"""The demo's matching round: open, funded by the bank, projecting its match live."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from app.db import Database
from app.demo import seed


async def test_the_demo_round_projects_its_pool_over_nairobi_and_turkana(
    database: Database, client: httpx.AsyncClient
) -> None:
    assert await seed(database) is not None
    async with database.read() as session:
        (round_id,) = (await session.execute(text("SELECT id FROM rounds"))).scalars()
    shown = (await client.get(f"/v1/rounds/{round_id}")).json()
    assert shown["status"] == "open"
    assert shown["matching_pool"] == 2_000_000
    # Nairobi: one funder (the Aqua Foundation's 40,000.00), so only its floor share;
    # Turkana: two funders (15,000.00 and an anonymous 5,000.00) take the rest.
    assert [
        (c["contributors"], c["contributed"], c["projected_match"]) for c in shown["challenges"]
    ] == [
        (1, 4_000_000, 200_000),
        (2, 2_000_000, 1_800_000),
    ]
    page = (await client.get(f"/challenges/{shown['challenges'][1]['challenge_id']}")).text
    assert "Clean water matching round" in page
