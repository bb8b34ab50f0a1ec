"""The interactive API docs at /docs in a real browser with no internet: every request to
another origin is blocked, as it fails on a machine that is offline, so Swagger UI renders
only if the app serves everything it needs itself, under the page's own
Content-Security-Policy. Screenshots go to test-output/docs/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Request, Route

from tests.support.servers import Server, start_server, stop_server

OUTPUT = Path(os.environ.get("TRIBUTARY_TEST_OUTPUT", "test-output")) / "docs"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("docs")
    running = start_server(f"sqlite+aiosqlite:///{folder / 'docs.db'}", folder)
    try:
        yield running
    finally:
        stop_server(running)


def test_the_api_docs_render_every_operation_with_no_internet(
    server: Server, browser: Browser
) -> None:
    document = httpx.get(server.url + "/openapi.json", timeout=10).json()
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }
    errors: list[str] = []
    foreign: list[str] = []
    failed: list[str] = []
    page = browser.new_page(viewport={"width": 1366, "height": 900})

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    def offline(route: Route) -> None:
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort("internetdisconnected")

    def request_failed(request: Request) -> None:
        failed.append(f"{request.url}: {request.failure}")

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", request_failed)
    page.route("**/*", offline)
    page.goto(server.url + "/docs")
    page.locator(".opblock-summary").first.wait_for(timeout=15_000)
    shown = {
        (row["method"], row["path"])
        for row in page.eval_on_selector_all(
            ".opblock-summary",
            """rows => rows.map(row => ({
                method: row.querySelector('.opblock-summary-method').textContent.trim(),
                path: row.querySelector('.opblock-summary-path').dataset.path,
            }))""",
        )
    }
    assert ("POST", "/v1/challenges") in shown
    assert shown == documented
    health = page.locator(".opblock", has=page.locator('[data-path="/healthz"]'))
    health.locator(".opblock-summary").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    health.locator(".live-responses-table .response-col_status", has_text="200").wait_for(
        timeout=10_000
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "docs-offline.png"), full_page=False)
    assert foreign == []
    assert failed == []
    assert errors == []
