"""The dashboard parts funders decide from (issue 19), as HTML without a browser: pledge
terms, who delivers and verifies each milestone, who funded what, a page per named funder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.support.impact import paid_milestone
from tests.support.market import funder, open_challenge, pledge


async def test_the_challenge_page_shows_terms_delivery_and_funders_without_naming_the_anonymous(
    client: httpx.AsyncClient,
) -> None:
    paid = await paid_milestone(client, anonymous_b=True)
    cid = paid.challenge["id"]
    late = await funder(client, 50_000)
    deadline = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    waiting = await pledge(
        client,
        late,
        cid,
        kind="threshold",
        amount=40_000,
        threshold_amount=900_000,
        deadline=deadline,
    )
    assert waiting.status_code == 201, waiting.text
    page = (await client.get(f"/challenges/{cid}")).text
    # the threshold: its amount, the pool it waits for, the progress and the deadline
    assert "USD 400.00 once the pool reaches USD 9,000.00" in page
    assert "USD 5,000.00 of USD 9,000.00 (55.6%)" in page
    assert 'deadline <time data-ago datetime="' in page
    # the awarded swarm with its shares, the verifier, the outcome
    assert "<strong>FilterWorks</strong>" in page
    assert "· 100.0%" in page
    assert "verified 150 of 200 households" in page
    assert "USD 3,000.00" in page  # the payout
    # who funded what: A by name with its page, B only as the anonymous row
    assert f'href="/funders/{paid.funder_a.id}"' in page
    assert f"/funders/{paid.funder_b.id}" not in page
    assert "Anonymous funders" in page


async def test_a_named_funder_has_a_public_page_and_an_anonymous_one_does_not(
    client: httpx.AsyncClient,
) -> None:
    paid = await paid_milestone(client, anonymous_b=True)
    named = await client.get(f"/funders/{paid.funder_a.id}")
    assert named.status_code == 200
    assert paid.challenge["title"] in named.text
    assert "USD 3,000.00" in named.text  # pledged
    assert "USD 1,800.00" in named.text  # paid for outcomes
    assert "verified 150 of 200 households" in named.text
    hidden = await client.get(f"/funders/{paid.funder_b.id}")
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"


async def test_home_cards_show_held_money_with_a_legend(client: httpx.AsyncClient) -> None:
    challenge, _ = await open_challenge(client)
    org = await funder(client, 10_000)
    held = await pledge(
        client,
        org,
        challenge["id"],
        kind="threshold",
        amount=2_500,
        threshold_amount=9_000,
        deadline=(datetime.now(UTC) + timedelta(days=3)).isoformat(),
    )
    assert held.status_code == 201, held.text
    page = (await client.get("/")).text
    assert 'held <span data-field="held">25.00</span>' in page
    assert "held by pledges waiting on their terms" in page
