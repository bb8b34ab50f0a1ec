"""The dashboard in a real browser: headless Chromium (Debian's, driven by Playwright) against
a real server process holding the demo market. Screenshots go to test-output/dashboard/."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from tests.support.factories import ADMIN
from tests.support.servers import Server, server_env, start_server, stop_server
from tests.support.signing import SIGNING_KEY

OUTPUT = Path(os.environ.get("TRIBUTARY_TEST_OUTPUT", "test-output")) / "dashboard"
VIEWPORTS = {"phone": (390, 844), "laptop": (1366, 900), "wall": (2560, 1440)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite+aiosqlite:///{folder / 'demo.db'}"
    env = server_env(url, TRIBUTARY_LEDGER_SIGNING_KEY=SIGNING_KEY)
    seeded = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo"], env=env, capture_output=True, timeout=120
    )
    assert seeded.returncode == 0, seeded.stderr.decode()
    running = start_server(
        url,
        folder,
        TRIBUTARY_LEDGER_SIGNING_KEY=SIGNING_KEY,
        TRIBUTARY_DUE_WORK_INTERVAL_SECONDS="1",
    )
    try:
        yield running
    finally:
        stop_server(running)


def open_page(browser: Browser, viewport: str, errors: list[str]) -> Page:
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


def shot(page: Page, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_the_list_shows_every_challenge_with_its_progress(server: Server, browser: Browser) -> None:
    errors: list[str] = []
    page = open_page(browser, "laptop", errors)
    page.goto(server.url + "/")
    cards = page.locator("li.card")
    assert cards.count() == 4  # three open challenges and the completed one
    titles = cards.locator("h2").all_inner_texts()
    assert "Safe water for Kisumu County" in titles
    kisumu = cards.filter(has_text="Kisumu")
    assert "paid 77,500.00" in kisumu.inner_text()
    assert kisumu.locator("svg.bar rect.seg-paid").get_attribute("width") not in (None, "0", "0.0")
    page.locator("#live").filter(has_text="updated").wait_for(timeout=10_000)
    shot(page, "index-laptop")
    assert errors == []


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_challenge_page_draws_its_flows_as_a_sankey(
    server: Server, browser: Browser, viewport: str
) -> None:
    errors: list[str] = []
    page = open_page(browser, viewport, errors)
    page.goto(server.url + "/")
    page.get_by_role("link", name="Safe water for Kisumu County").click()
    page.locator("#sankey svg").wait_for(timeout=10_000)
    links, nodes = page.locator("#sankey path.link"), page.locator("#sankey rect.node")
    assert links.count() == 8  # 4 funders -> challenge -> 2 milestones; boreholes -> 2 firms
    assert nodes.count() == 9
    labels = page.locator("#sankey text").all_text_contents()
    assert "WellWorks Kenya · 46,500.00" in labels
    assert "SunPump Engineering · 31,000.00" in labels
    assert any(label.startswith("Anonymous funders") for label in labels)
    assert page.locator("#milestones tbody tr").count() == 2
    assert "Ledger sealed at" in page.locator("#digest").inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page itself must not scroll sideways (the diagram may)"
    shot(page, f"challenge-{viewport}")
    assert errors == []


def test_the_page_updates_itself_when_money_moves(server: Server, browser: Browser) -> None:
    errors: list[str] = []
    page = open_page(browser, "laptop", errors)
    page.goto(server.url + "/")
    page.get_by_role("link", name="Safe water for Kisumu County").click()
    page.locator("#sankey svg").wait_for(timeout=10_000)
    challenge_id = page.locator("#sankey").get_attribute("data-challenge")
    name = f"Late Donor {uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=server.url, timeout=10) as http:
        org = http.post(
            "/v1/orgs", json={"name": name, "public_name": name, "roles": ["funder"]}, headers=ADMIN
        ).json()
        key = http.post(f"/v1/orgs/{org['id']}/api-keys", json={}, headers=ADMIN).json()
        deposit = {"amount": 123_400, "currency": "USD", "external_ref": f"late-{org['id']}"}
        assert http.post(f"/v1/orgs/{org['id']}/deposits", json=deposit, headers=ADMIN).is_success
        pledged = http.post(
            f"/v1/challenges/{challenge_id}/pledges",
            json={"amount": 123_400, "kind": "direct"},
            headers={"Authorization": f"Bearer {key['secret']}"},
        )
        assert pledged.status_code == 201, pledged.text
    page.locator("#sankey text", has_text=f"{name} · 1,234.00").wait_for(timeout=15_000)
    # 55,000.00 available, 3,000.00 rolled over from Machakos at its completion, 1,234.00 new
    page.locator("#money dd", has_text="59,234.00").wait_for(timeout=15_000)
    shot(page, "challenge-after-a-new-pledge")
    assert errors == []


def test_without_javascript_the_challenge_page_lists_its_flows(
    server: Server, browser: Browser
) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1366, "height": 900}
    )
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        page.get_by_role("link", name="Safe water for Kisumu County").click()
        page.wait_for_load_state("load")
        assert "Loading" not in page.locator("body").inner_text()
        assert page.locator("#live").is_hidden()  # nothing claims the page is live
        flows = page.locator("#sankey table")
        stages = flows.locator("tbody th").all_inner_texts()
        assert stages == ["Pledged by funders", "Allocated to milestones", "Paid for outcomes"]
        rows = [
            tuple(row.locator("td").all_inner_texts())
            for row in flows.locator("tbody tr").all()
            if row.locator("td").count()
        ]
        challenge_id = page.locator("#sankey").get_attribute("data-challenge")
        flows_url = f"{server.url}/v1/public/flows?challenge_id={challenge_id}&max_funders=40"
        assert len(rows) == len(httpx.get(flows_url, timeout=10).json()["links"])
        challenge, boreholes = "Safe water for Kisumu County", "Boreholes drilled and flowing"
        late = [row for row in rows if row[0].startswith("Late Donor")]  # the test above pledged
        assert [row for row in rows if row not in late] == [
            ("Aqua Foundation", challenge, "83,000.00"),  # 3,000.00 rolled in from Machakos
            ("Blue Horizon Bank", challenge, "50,000.00"),
            ("County Government of Kisumu", challenge, "20,000.00"),
            ("Anonymous funders", challenge, "2,500.00"),
            (challenge, boreholes, "77,500.00"),
            (challenge, "Water quality certified", "20,000.00"),
            (boreholes, "WellWorks Kenya", "46,500.00"),
            (boreholes, "SunPump Engineering", "31,000.00"),
        ]
        assert "USD" in flows.locator("thead").inner_text()
        signed = page.locator("#digest time")
        assert signed.inner_text().endswith(" UTC")
        assert signed.get_attribute("title") == signed.get_attribute("datetime")
        shot(page, "challenge-without-javascript")
    finally:
        context.close()
