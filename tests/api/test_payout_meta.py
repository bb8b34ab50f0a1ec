"""A payout's entries carry what a report needs (issue 19), so reports never recompute
history: the milestone's metric and unit, the verified value and the whole payout."""

from __future__ import annotations

import uuid

import httpx

from app.db import Database
from app.domain.delivery.milestones import step_id
from app.ledger import Ledger
from tests.support.impact import paid_milestone


async def test_payout_entry_meta_names_metric_unit_verified_value_and_payout(
    client: httpx.AsyncClient, database: Database
) -> None:
    paid = await paid_milestone(client)
    milestone_id = uuid.UUID(paid.milestone["id"])
    async with database.snapshot() as session:
        entry = await Ledger(session).get_entry(step_id(milestone_id, "payout"))
    assert entry is not None
    assert entry.meta == {
        "milestone_id": str(milestone_id),
        "claim_id": paid.claim_id,
        "metric": "households with safe water",
        "unit": "households",
        "verified_value": "150",
        "payout_amount": 300_000,
        "currency": "USD",
    }
    debits = sorted(p.debit for p in entry.postings if p.debit)
    assert debits == [120_000, 180_000]
