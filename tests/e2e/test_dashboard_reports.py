"""The dashboard parts funders decide from (issue 19) in headless Chromium at phone, laptop
and wall sizes, against the demo market: pledge terms, delivery per milestone, who funded
what, a named funder's page; each page checked with axe-core (vendored from npm) for
serious accessibility violations, and screenshotted to test-output/dashboard/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.test_dashboard import OUTPUT, VIEWPORTS, open_page, server, shot
from tests.support.servers import Server

__all__ = ["server"]  # the demo server fixture, shared with the dashboard's other tests

AXE = "/static/vendor/axe.min.js"
SERIOUS = ("serious", "critical")
KISUMU = "Safe water for Kisumu County"


def shot_path(name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT / f"{name}.png"


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as it stands (WCAG 2.x A/AA)."""
    page.add_script_tag(url=AXE)
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
                resultTypes: ["violations"],
            });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
            }));
        }"""
    )
    return [v for v in found if v["impact"] in SERIOUS]


def open_challenge(page: Page, server: Server) -> None:
    page.goto(server.url + "/")
    page.get_by_role("link", name=KISUMU).click()
    page.locator("#sankey svg").wait_for(timeout=10_000)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_challenge_page_shows_terms_delivery_and_funders_accessibly(
    server: Server, browser: Browser, viewport: str
) -> None:
    errors: list[str] = []
    page = open_page(browser, viewport, errors)
    open_challenge(page, server)
    terms = page.locator("#terms tbody tr")
    assert terms.count() >= 2
    text = page.locator("#terms").inner_text()
    assert "once the pool reaches USD" in text  # a threshold and its progress
    assert "matches 1:1 up to USD" in text  # a match cap
    assert "drawn" in text  # and what it drew
    assert page.locator("#terms progress").count() >= 1
    deadline = page.locator("#terms time[data-ago]").first  # in words, exact in its title
    assert re.fullmatch(r"in \d+ \w+|\d+ \w+ ago|tomorrow|yesterday", deadline.inner_text())
    assert deadline.get_attribute("title", timeout=1_000).endswith(" UTC")
    boreholes = page.locator("#milestones tr", has_text="Boreholes drilled and flowing")
    assert "WellWorks Kenya" in boreholes.inner_text()  # the swarm's members and shares
    assert "%" in boreholes.locator("td.swarm").inner_text()
    assert "verified 31 of 40" in boreholes.inner_text()
    funders = page.locator("#funders tbody tr")
    assert any("Anonymous funders" in row for row in funders.all_inner_texts())
    assert page.locator("#funders a", has_text="Aqua Foundation").count() == 1
    assert "USD 83,000.00" in page.locator("#funders").inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page itself must not scroll sideways"
    assert axe_violations(page) == []
    shot(page, f"challenge-reports-{viewport}")
    assert errors == []


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_named_funders_page_and_the_home_legend_pass_axe(
    server: Server, browser: Browser, viewport: str
) -> None:
    errors: list[str] = []
    page = open_page(browser, viewport, errors)
    page.goto(server.url + "/")
    assert page.locator("ul.legend li").count() == 4
    kisumu = page.locator("li.card", has_text="Kisumu")
    assert "held" in kisumu.locator("p.amounts").inner_text()
    assert axe_violations(page) == []
    shot(page, f"index-legend-{viewport}")
    open_challenge(page, server)
    page.locator("#funders a", has_text="Aqua Foundation").click()
    page.wait_for_url("**/funders/*")
    assert page.locator("h1").inner_text() == "Aqua Foundation"
    row = page.locator("#record tr", has_text=KISUMU)
    assert "USD" in row.inner_text()
    assert "paid" in row.inner_text()
    assert axe_violations(page) == []
    shot(page, f"funder-{viewport}")
    assert errors == []


def test_every_link_of_the_challenge_page_is_reachable_by_keyboard(
    server: Server, browser: Browser
) -> None:
    errors: list[str] = []
    page = open_page(browser, "laptop", errors)
    open_challenge(page, server)
    links = page.locator("main a").count()
    reached = set()
    for _ in range(links + 10):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.getAttribute('href')"))
    assert {f"/funders/{h.split('/')[-1]}" for h in reached if h and "/funders/" in h}
    hrefs = set(page.eval_on_selector_all("main a", "els => els.map(e => e.getAttribute('href'))"))
    assert hrefs <= reached, hrefs - reached
    assert errors == []


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_sankeys_labels_never_overlap(server: Server, browser: Browser, viewport: str) -> None:
    errors: list[str] = []
    page = open_page(browser, viewport, errors)
    open_challenge(page, server)
    boxes = page.eval_on_selector_all(
        "#sankey text",
        """els => els.map(e => { const r = e.getBoundingClientRect();
            return [e.textContent, r.left, r.top, r.right, r.bottom]; })""",
    )
    assert len(boxes) == 9
    clashes = [
        (a[0], b[0])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
    ]
    assert clashes == []
    size = page.eval_on_selector("#sankey text", "e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 11, "labels keep a readable size instead of shrinking with the diagram"
    page.locator("#sankey").screenshot(path=str(shot_path(f"sankey-{viewport}")))
    assert errors == []
