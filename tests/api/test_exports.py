"""CSV on `Accept: text/csv`: the statement, an org's pledges and the impact report, one
header row, amounts in minor units plus a formatted column, streamed over keyset pages."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from app.api import exports
from app.api.csv_export import text_cell
from tests.support.factories import ADMIN
from tests.support.impact import paid_milestone
from tests.support.market import funder, open_challenge, pledge

CSV = {"Accept": "text/csv"}


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_the_funders_statement_has_a_header_and_one_row_per_movement(
    client: httpx.AsyncClient,
) -> None:
    paid = await paid_milestone(client)
    url = f"/v1/orgs/{paid.funder_a.id}/statement"
    as_json = (await client.get(url, headers=paid.funder_a.headers)).json()["items"]
    answer = await client.get(url, headers={**paid.funder_a.headers, **CSV})
    assert answer.text.splitlines()[0] == ",".join(exports.STATEMENT_HEADER)
    rows = rows_of(answer)
    assert [r["entry_id"] for r in rows] == [line["entry_id"] for line in as_json]
    assert [(r["kind"], r["amount"], r["amount_formatted"]) for r in rows] == [
        ("deposit", "300000", "USD 3,000.00"),
        ("pledge", "-300000", "USD -3,000.00"),
    ]
    assert [r["balance_after_formatted"] for r in rows] == ["USD 3,000.00", "USD 0.00"]


async def test_long_histories_stream_page_after_page(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "CSV_PAGE", 3)
    org = await funder(client, 0)
    made = await client.post(
        f"/v1/orgs/{org.id}/deposits/batch",
        json={
            "items": [
                {"amount": 100 + i, "currency": "USD", "external_ref": f"r-{i}"} for i in range(8)
            ]
        },
        headers=ADMIN,
    )
    assert made.status_code == 201, made.text
    rows = rows_of(await client.get(f"/v1/orgs/{org.id}/statement", headers={**ADMIN, **CSV}))
    assert [int(r["amount"]) for r in rows] == [100 + i for i in range(8)]
    assert rows[-1]["balance_after"] == str(sum(100 + i for i in range(8)))


async def test_an_orgs_pledges_as_csv_page_by_page(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "CSV_PAGE", 2)
    challenge, _ = await open_challenge(client)
    org = await funder(client, 10_000)
    made = [(await pledge(client, org, challenge["id"], amount=1_000 + i)).json() for i in range(5)]
    rows = rows_of(await client.get(f"/v1/orgs/{org.id}/pledges", headers={**org.headers, **CSV}))
    assert [r["pledge_id"] for r in rows] == [p["id"] for p in made]
    assert rows[0]["amount_formatted"] == "USD 10.00"
    assert (rows[0]["status"], rows[0]["available"], rows[0]["paid_formatted"]) == (
        "active",
        "1000",
        "USD 0.00",
    )


async def test_the_impact_report_as_csv(client: httpx.AsyncClient) -> None:
    paid = await paid_milestone(client)
    rows = rows_of(
        await client.get(f"/v1/orgs/{paid.funder_a.id}/impact", headers={**ADMIN, **CSV})
    )
    assert [
        (r["milestone_id"], r["paid"], r["paid_formatted"], r["units"], r["cost_per_unit"])
        for r in rows
    ] == [(paid.milestone["id"], "180000", "USD 1,800.00", "90", "2000")]
    assert rows[0]["cost_per_unit_formatted"] == "USD 20.00"


async def test_a_csv_refusal_is_still_a_problem_document(client: httpx.AsyncClient) -> None:
    paid = await paid_milestone(client)
    for path in ("statement", "pledges", "impact"):
        hidden = await client.get(
            f"/v1/orgs/{paid.funder_a.id}/{path}", headers={**paid.funder_b.headers, **CSV}
        )
        assert hidden.status_code == 404
        assert hidden.headers["content-type"] == "application/problem+json"


async def test_json_stays_the_default_and_wins_a_higher_quality(client: httpx.AsyncClient) -> None:
    org = await funder(client, 100)
    url = f"/v1/orgs/{org.id}/statement"
    for accept in ("*/*", "application/json", "application/json, text/csv;q=0.5", "text/csv;q=0"):
        answer = await client.get(url, headers={**org.headers, "Accept": accept})
        assert answer.headers["content-type"] == "application/json", accept


def test_cells_a_spreadsheet_would_run_as_formulas_are_defused() -> None:
    assert text_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert text_cell("@SUM(A1)") == "'@SUM(A1)"
    assert text_cell("households") == "households"
    assert text_cell(None) == ""
