"""GET /v1/orgs/{org_id}/impact: what a funder's money bought (issue 19)."""

from __future__ import annotations

import httpx

from tests.support.factories import ADMIN, make_org
from tests.support.impact import awarded, paid_milestone
from tests.support.market import funder, open_challenge, pledge


async def test_two_funders_share_the_verified_units_by_what_they_paid(
    client: httpx.AsyncClient,
) -> None:
    paid = await paid_milestone(client, anonymous_b=True)
    report = await client.get(f"/v1/orgs/{paid.funder_a.id}/impact", headers=paid.funder_a.headers)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["items"] == [
        {
            "challenge_id": paid.challenge["id"],
            "milestone_id": paid.milestone["id"],
            "metric": "households with safe water",
            "unit": "households",
            "currency": "USD",
            "paid": 180_000,
            "units": "90",
            "units_exact": "90",
            "cost_per_unit": 2_000,
            "verified_value": "150",
            "payout_amount": 300_000,
        }
    ]
    assert body["totals"] == {
        "currency": "USD",
        "paid": 180_000,
        "by_unit": [{"unit": "households", "paid": 180_000, "units": "90", "cost_per_unit": 2_000}],
    }
    # The anonymous funder sees its own share; the admin reads any funder's report.
    other = (await client.get(f"/v1/orgs/{paid.funder_b.id}/impact", headers=ADMIN)).json()
    assert [(i["paid"], i["units"], i["cost_per_unit"]) for i in other["items"]] == [
        (120_000, "60", 2_000)
    ]


async def test_units_that_do_not_divide_evenly_are_rounded_once_and_shown_exactly(
    client: httpx.AsyncClient,
) -> None:
    paid = await paid_milestone(client, pledges=(1_000, 2_000), award=3_000, target=100, value=100)
    body = (await client.get(f"/v1/orgs/{paid.funder_a.id}/impact", headers=ADMIN)).json()
    [item] = body["items"]
    assert (item["paid"], item["units"], item["units_exact"]) == (1_000, "33.33", "100/3")
    assert item["cost_per_unit"] == 30  # 1,000 / (100/3), not 1,000 / 33.33 = 30.003


async def test_a_funder_with_nothing_paid_yet_has_an_empty_report_in_its_currency(
    client: httpx.AsyncClient,
) -> None:
    challenge, _ = await open_challenge(client)
    org = await funder(client, 10_000)
    assert (await pledge(client, org, challenge["id"], amount=1_000)).status_code == 201
    empty = (await client.get(f"/v1/orgs/{org.id}/impact", headers=org.headers)).json()
    assert empty == {"items": [], "totals": {"currency": "USD", "paid": 0, "by_unit": []}}


async def test_a_funder_that_never_pledged_has_an_empty_report(client: httpx.AsyncClient) -> None:
    org = await make_org(client, "funder")
    body = (await client.get(f"/v1/orgs/{org.id}/impact", headers=org.headers)).json()
    assert body == {"items": [], "totals": {"currency": None, "paid": 0, "by_unit": []}}


async def test_several_currencies_need_a_currency(client: httpx.AsyncClient) -> None:
    org = await funder(client, 10_000)
    deposit = await client.post(
        f"/v1/orgs/{org.id}/deposits",
        json={"amount": 10_000, "currency": "EUR", "external_ref": "eur-seed"},
        headers=ADMIN,
    )
    assert deposit.status_code == 201
    usd, _ = await open_challenge(client)
    eur, _ = await open_challenge(client, currency="EUR")
    assert (await pledge(client, org, usd["id"], amount=1_000)).status_code == 201
    assert (await pledge(client, org, eur["id"], amount=1_000)).status_code == 201
    refused = await client.get(f"/v1/orgs/{org.id}/impact", headers=org.headers)
    assert refused.status_code == 422
    assert refused.json()["code"] == "currency_required"
    chosen = await client.get(f"/v1/orgs/{org.id}/impact?currency=EUR", headers=org.headers)
    assert chosen.json()["totals"]["currency"] == "EUR"


async def test_other_organisations_do_not_see_a_funders_impact(
    client: httpx.AsyncClient,
) -> None:
    _, _, steward, funder_a, _, lead = await awarded(client)
    for caller in (steward, lead):
        hidden = await client.get(f"/v1/orgs/{funder_a.id}/impact", headers=caller.headers)
        assert hidden.status_code == 404
    assert (await client.get(f"/v1/orgs/{funder_a.id}/impact")).status_code == 401
