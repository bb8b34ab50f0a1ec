"""Building blocks for market tests: funded funders, open challenges, pledges, due work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.db import Database
from app.domain.due_work import DueWorkReport, run_due_work
from tests.support.factories import ADMIN, OrgHandle, make_org


def future(days: float = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def funder(
    client: httpx.AsyncClient, amount: int = 100_000, currency: str = "USD"
) -> OrgHandle:
    org = await make_org(client, "funder")
    if amount:
        response = await client.post(
            f"/v1/orgs/{org.id}/deposits",
            json={"amount": amount, "currency": currency, "external_ref": f"seed-{uuid.uuid4()}"},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.text
    return org


async def open_challenge(
    client: httpx.AsyncClient, steward: OrgHandle | None = None, **fields: Any
) -> tuple[dict[str, Any], OrgHandle]:
    steward = steward or await make_org(client, "steward")
    body = {"title": "Safe water for Kisumu", "currency": "USD", "sdg_targets": ["6.1", "6.2"]}
    body.update(fields)
    created = await client.post("/v1/challenges", json=body, headers=steward.headers)
    assert created.status_code == 201, created.text
    opened = await client.post(
        f"/v1/challenges/{created.json()['id']}/open", headers=steward.headers
    )
    assert opened.status_code == 200, opened.text
    return opened.json(), steward


async def pledge(
    client: httpx.AsyncClient, org: OrgHandle, challenge_id: str, **body: Any
) -> httpx.Response:
    body.setdefault("kind", "direct")
    return await client.post(
        f"/v1/challenges/{challenge_id}/pledges", json=body, headers=org.headers
    )


async def available(
    client: httpx.AsyncClient, org: OrgHandle, currency: str = "USD"
) -> tuple[int, int]:
    rows = (await client.get(f"/v1/orgs/{org.id}/balances", headers=ADMIN)).json()["balances"]
    row = next((r for r in rows if r["currency"] == currency), {"available": 0, "held": 0})
    return row["available"], row["held"]


async def totals(client: httpx.AsyncClient, challenge_id: str) -> dict[str, int]:
    return dict((await client.get(f"/v1/challenges/{challenge_id}")).json()["totals"])


async def read_pledge(client: httpx.AsyncClient, pledge_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/pledges/{pledge_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def due_work_at(database: Database, moment: datetime) -> DueWorkReport:
    report = await run_due_work(database, now=moment)
    assert not report.failed, report.failed
    return report
