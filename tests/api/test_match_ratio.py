"""A match ratio is written as docs/market.md says: a decimal number, a decimal string, or
matched:contributed. Each form draws the same money; basis points and other guesses are a
422 saying what to write, and nothing moves."""

from __future__ import annotations

import httpx
import pytest

from tests.support.market import available, funder, open_challenge, pledge

FORMS = [(1.0, 1.0, 4_000), ("1.5", 1.5, 6_000), ("1:1", 1.0, 4_000), ("1:2", 0.5, 2_000),
         ("0.25", 0.25, 1_000)]  # fmt: skip


@pytest.mark.parametrize(("written", "ratio", "drawn"), FORMS)
async def test_every_documented_form_of_a_ratio_draws_the_same_money(
    client: httpx.AsyncClient, written: object, ratio: float, drawn: int
) -> None:
    challenge, _ = await open_challenge(client)
    sponsor, alice = await funder(client), await funder(client)
    match = await pledge(
        client, sponsor, challenge["id"], kind="match", amount=10_000, match_ratio=written
    )
    assert match.status_code == 201, match.text
    assert (match.json()["match_ratio"], match.json()["held"]) == (ratio, 10_000)
    assert (await pledge(client, alice, challenge["id"], amount=4_000)).status_code == 201
    read = await client.get(f"/v1/pledges/{match.json()['id']}", headers=sponsor.headers)
    assert (read.json()["available"], read.json()["held"]) == (drawn, 10_000 - drawn)


@pytest.mark.parametrize(
    ("written", "says"),
    [
        (10_000, "basis points are not a ratio: 10000 bps is 1.0"),
        ("1:3", "at most 4 decimal places; 1:3 is not exact in them (the nearest below is 0.3333)"),
        ("1 to 1", 'a decimal such as 1.0 or "0.5", or matched:contributed such as "1:1"'),
        ("1:0", 'match_ratio "1:0" matches against nothing contributed.'),
    ],
)
async def test_a_ratio_nobody_can_use_is_422_in_words_and_moves_nothing(
    client: httpx.AsyncClient, written: object, says: str
) -> None:
    challenge, _ = await open_challenge(client)
    sponsor = await funder(client, 50_000)
    refused = await pledge(
        client, sponsor, challenge["id"], kind="match", amount=10_000, match_ratio=written
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"][0]["loc"] == ["body", "match_ratio"]
    assert says in problem["errors"][0]["msg"]
    assert await available(client, sponsor) == (50_000, 0)


async def test_a_batch_reads_ratios_the_same_way(client: httpx.AsyncClient) -> None:
    challenge, _ = await open_challenge(client)
    sponsor = await funder(client)
    item = {"challenge_id": challenge["id"], "kind": "match", "amount": 500, "match_ratio": "1:4"}
    made = await client.post(
        "/v1/pledges/batch",
        json={"items": [item]},
        headers=sponsor.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["items"][0]["match_ratio"] == 0.25
