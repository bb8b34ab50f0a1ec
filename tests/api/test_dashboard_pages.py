"""The dashboard's HTML without a browser: escaping, security headers, what it lists."""

from __future__ import annotations

import re
from datetime import datetime

import httpx

from app.db import Database
from tests.support.factories import make_org
from tests.support.market import funder, open_challenge, pledge
from tests.support.signing import seal_everything
from tests.support.statements import recorded_statements

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def test_titles_are_escaped_and_the_page_forbids_foreign_and_inline_scripts(
    client: httpx.AsyncClient,
) -> None:
    challenge, _ = await open_challenge(client, title=HOSTILE, description=HOSTILE)
    await pledge(client, await funder(client, 1_234), challenge["id"], amount=1_234)
    for path in ("/", f"/challenges/{challenge['id']}"):
        page = await client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert HOSTILE not in page.text
        assert "&lt;script&gt;alert(" in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "default-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "12.34" in page.text  # minor units shown as money


async def test_the_list_leaves_out_drafts_and_an_unknown_challenge_is_a_problem_404(
    client: httpx.AsyncClient,
) -> None:
    steward = await make_org(client, "steward")
    draft = await client.post(
        "/v1/challenges",
        json={"title": "Secret draft", "currency": "USD", "sdg_targets": ["6.1"]},
        headers=steward.headers,
    )
    assert draft.status_code == 201
    await open_challenge(client, title="Open for pledges")
    page = (await client.get("/")).text
    assert "Open for pledges" in page
    assert "Secret draft" not in page
    missing = await client.get("/challenges/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert (await client.get("/challenges/not-a-uuid")).status_code == 422


async def test_the_app_serves_its_own_scripts(client: httpx.AsyncClient) -> None:
    for path in (
        "/static/dashboard.js",
        "/static/sankey.js",
        "/static/vendor/d3-sankey.min.js",
        "/static/dashboard.css",
    ):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert len(response.content) > 500
    assert (await client.get("/static/../app/settings.py")).status_code == 404


async def test_the_footer_says_in_words_when_the_log_was_signed_and_totals_count_in_words(
    client: httpx.AsyncClient, database: Database
) -> None:
    challenge, _ = await open_challenge(client)
    await pledge(client, await funder(client, 1_234), challenge["id"], amount=1_234)
    await seal_everything(database)
    stamp = (await client.get("/v1/public/ledger/tree-head")).json()["timestamp"]
    signed = datetime.fromisoformat(stamp)
    for path in ("/", f"/challenges/{challenge['id']}"):
        page = (await client.get(path)).text
        shown = re.search(r'signed <time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', page)
        assert shown is not None, page
        assert shown[1] == stamp
        assert shown[2] == stamp
        assert shown[3] == f"{signed.day} {signed:%B %Y} at {signed:%H:%M} UTC"
        assert f">{stamp}<" not in page
    index = (await client.get("/")).text
    assert "challenges · funders · actors" not in index
    taking_part = re.search(r"<dt>who took part</dt><dd>(.*?)</dd>", index)
    assert taking_part is not None, index
    assert re.sub(r"<[^>]+>", "", taking_part[1]) == "1 challenge · 1 funder · 0 actors"


async def test_the_challenge_page_reuses_the_flows_until_money_moves(
    client: httpx.AsyncClient, database: Database
) -> None:
    """The page's flow tables come from the same per-version cache as the public flows: a
    second view reads only the totals and the version from the rollup; a pledge rebuilds it."""
    challenge, _ = await open_challenge(client)
    first = await funder(client, 1_000)
    await pledge(client, first, challenge["id"], amount=300)
    page = f"/challenges/{challenge['id']}"
    assert (await client.get(page)).status_code == 200
    with recorded_statements(database.engine) as sent:
        assert (await client.get(page)).status_code == 200
    # the challenge's totals and the view's version; building the graph reads it 3 times more
    assert sum("flow_totals" in statement for statement in sent) == 2, sent
    second = await funder(client, 1_000)
    await pledge(client, second, challenge["id"], amount=200)
    with recorded_statements(database.engine) as sent:
        assert (await client.get(page)).status_code == 200
    assert sum("flow_totals" in statement for statement in sent) > 2, sent  # rebuilt
    flows = (await client.get(f"/v1/public/flows?challenge_id={challenge['id']}")).json()
    assert {f"funder:{first.id}", f"funder:{second.id}"} <= {n["id"] for n in flows["nodes"]}
