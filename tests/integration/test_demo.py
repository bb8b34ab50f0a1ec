"""The demo market: created once, balanced, and visible through the API."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from app.db import Database
from app.demo import seed
from app.ledger import Ledger
from tests.support.factories import ADMIN


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
    # 152,500.00 pledged; boreholes verified at 31 of 40 pay 77.5% of the 100,000.00 bid, the
    # rest returns; 20,000.00 sits in escrow for water quality; 3,000.00 rolled over from the
    # completed Machakos challenge.
    assert kisumu["totals"] == {
        "held": 0,
        "available": 5_800_000,
        "allocated": 2_000_000,
        "paid": 7_750_000,
        "returned": 0,
    }
    milestones = (await client.get(f"/v1/challenges/{kisumu['id']}/milestones")).json()
    paid = next(m for m in milestones if m["status"] == "paid")
    assert sorted(split["amount"] for split in paid["payout"]["splits"]) == [3_100_000, 4_650_000]
    (machakos,) = (await client.get("/v1/challenges?status=completed")).json()["items"]
    # 20,000.00 pledged, the 15,000.00 award paid in full; the County's 2,000.00 came back,
    # the Aqua Foundation's 3,000.00 went on to Kisumu.
    assert machakos["totals"] == {
        "held": 0,
        "available": 0,
        "allocated": 0,
        "paid": 1_500_000,
        "returned": 200_000,
    }
    funder = next(k for k in keys if k.org == "Aqua Foundation")
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {funder.secret}"})
    assert me.json()["name"] == "Aqua Foundation"


async def test_demo_offers_an_assurance_bonus_and_pays_a_bid_per_household(
    database: Database, client: httpx.AsyncClient
) -> None:
    assert await seed(database) is not None
    listed = (await client.get("/v1/challenges?status=open&sdg=6")).json()["items"]
    nairobi = next(c for c in listed if c["region"] == "KE-30")
    bonuses = (await client.get(f"/v1/challenges/{nairobi['id']}/assurance-bonus")).json()
    assert [(b["amount"], b["bonus_bps"], b["remaining"]) for b in bonuses["items"]] == [
        (500_000, 250, 500_000)
    ]
    page = await client.get(f"/challenges/{nairobi['id']}")
    assert "Assurance bonus on offer" in page.text
    # 79 households verified (the median of 78 and 80) at 250.00 each, of 100 at most.
    benchmark = (await client.get("/v1/public/benchmarks?sdg=6.2&unit=households")).json()
    assert [(i["milestones"], i["median_cost_per_unit"]) for i in benchmark["items"]] == [
        (1, 25_000)
    ]
    milestones = (await client.get(f"/v1/challenges/{nairobi['id']}/milestones")).json()
    paid = next(m for m in milestones if m["unit"] == "households")
    assert (paid["status"], paid["payout"]["amount"]) == ("paid", 1_975_000)
    report = (await client.get("/v1/ledger/verify", headers=ADMIN)).json()
    assert report["ok"], report["violations"]
