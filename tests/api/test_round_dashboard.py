"""The challenge page shows the open matching rounds it is in, with its projected match."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from app.api.formatting import money
from tests.support.market import funder, open_challenge, pledge


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


async def test_a_challenge_page_shows_its_open_round_and_projected_match(
    client: httpx.AsyncClient,
) -> None:
    sponsor = await funder(client, 100_000)
    a, _ = await open_challenge(client, title="A")
    b, _ = await open_challenge(client, title="B")
    outside, _ = await open_challenge(client, title="Not in the round")
    made = await client.post(
        "/v1/rounds",
        json={
            "name": "Clean water round",
            "currency": "USD",
            "matching_pool": 100_000,
            "challenge_ids": [a["id"], b["id"]],
            "starts_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "ends_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "floor_bps": 2_000,
        },
        headers=sponsor.headers,
    )
    assert made.status_code == 201, made.text
    for _ in range(4):
        assert (await pledge(client, await funder(client, 2_500), a["id"], amount=2_500)).is_success
    assert (await pledge(client, await funder(client, 10_000), b["id"], amount=10_000)).is_success

    page = _text((await client.get(f"/challenges/{a['id']}")).text)
    assert "Clean water round" in page
    assert f"4 funders gave {money(10_000, 'USD')} here" in page
    assert f"projected match {money(90_000, 'USD')}" in page
    assert "only the platform admin creates organisations" in page
    other = _text((await client.get(f"/challenges/{outside['id']}")).text)
    assert "Matching rounds" not in other

    closed = await client.post(f"/v1/rounds/{made.json()['id']}/close", headers=sponsor.headers)
    assert closed.status_code == 200, closed.text
    assert "Clean water round" not in _text((await client.get(f"/challenges/{a['id']}")).text)
