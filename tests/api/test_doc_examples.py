"""Every example in README.md and docs/*.md is run by a test, against a live server.

- HTTP exchanges (```http blocks: a request, then its documented answer) run here in
  document order against the app in its own process (uvicorn) on the test's fresh database,
  PostgreSQL and SQLite; the documented status, content type and fields must be what the
  server answers. A page says which test runs its http blocks
  (`<!-- tests/....py runs every http block ...`): this one, or its own when the page needs
  a world of its own.
- Shell blocks that call curl are each announced by a comment naming the test that runs them
  verbatim (the README quickstart: tests/integration/test_admin_token.py; the ledger recipe:
  tests/api/test_ledger_recipe.py; the Docker Compose block, which the suite cannot run,
  names tests/unit/test_docker_files.py, which checks the files it uses); a new one without
  its test fails here.
- Inline `curl http://127.0.0.1:8000/...` examples answer 200, and every `METHOD /path` the
  prose names is a route the app serves.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.api import dashboard, swagger_ui
from app.db import Database
from app.main import create_app
from app.settings import Settings
from tests.support.doc_examples import (
    DOCUMENTS,
    ROOT,
    Exchange,
    blocks,
    differences,
    exchanges,
    page_runner,
    substitute,
)
from tests.support.factories import ADMIN
from tests.support.servers import Server, start_server, stop_server

DOCUMENTED_URL = "http://127.0.0.1:8000"
THIS_TEST = "tests/api/test_doc_examples.py"
WITH_HTTP = [path for path in DOCUMENTS if any(b.language == "http" for b in blocks(path))]
# Pages whose exchanges this test runs; a page with a world of its own (docs/mechanisms.md)
# names its own runner instead.
WITH_EXCHANGES = [path for path in WITH_HTTP if page_runner(path) == THIS_TEST]
INLINE_CURL = re.compile(r"`curl (http://127\.0\.0\.1:8000/[^` ]*)`")
INLINE_ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (?:\$API)?(/[^` ?]*)")
SEED_MINOR = 10_000_000  # USD 100,000.00, as docs/market.md says


@pytest.fixture
def server(database: Database, database_url: str, tmp_path: Path) -> Iterator[Server]:
    running = start_server(database_url, tmp_path, TRIBUTARY_DUE_WORK_INTERVAL_SECONDS="0")
    try:
        yield running
    finally:
        stop_server(running)


def _key(http: httpx.Client, *roles: str) -> tuple[str, str]:
    org = http.post("/v1/orgs", json={"name": f"doc-{uuid.uuid4().hex[:8]}", "roles": roles})
    assert org.status_code == 201, org.text
    key = http.post(f"/v1/orgs/{org.json()['id']}/api-keys", json={})
    return str(org.json()["id"]), str(key.json()["secret"])


def the_world(server: Server) -> dict[str, str]:
    """What the documents' examples take as given: two funded funders, an open challenge."""
    with httpx.Client(base_url=server.url, headers=ADMIN, timeout=10) as http:
        _, steward = _key(http, "steward")
        made = http.post(
            "/v1/challenges",
            json={"title": "Safe water for Kisumu", "currency": "USD", "sdg_targets": ["6.1"]},
            headers={"Authorization": f"Bearer {steward}"},
        )
        challenge = made.json()["id"]
        opened = http.post(
            f"/v1/challenges/{challenge}/open", headers={"Authorization": f"Bearer {steward}"}
        )
        assert opened.status_code == 200, opened.text
        world = {"CHALLENGE": challenge, "STEWARD_KEY": steward}
        for name in ("SPONSOR", "FUNDER"):
            org, world[f"{name}_KEY"] = _key(http, "funder")
            deposit = {"amount": SEED_MINOR, "currency": "USD", "external_ref": f"doc-{org}"}
            assert http.post(f"/v1/orgs/{org}/deposits", json=deposit).status_code == 201
    return world


def run(http: httpx.Client, exchange: Exchange, bindings: dict[str, str]) -> list[str]:
    """Send the documented request; what in the answer differs from the documented one."""
    method, path = exchange.method_and_path
    request = exchange.request
    headers = {
        name: substitute(value, bindings, exchange.where) for name, value in request.headers.items()
    }
    body = substitute(request.body, bindings, exchange.where).encode() if request.body else None
    answer = http.request(
        method, substitute(path, bindings, exchange.where), headers=headers, content=body
    )
    problems = []
    if answer.status_code != exchange.status:
        problems.append(f"status: documented {exchange.status}, got {answer.status_code}")
    documented_type = exchange.response.headers.get("content-type")
    if documented_type and not answer.headers["content-type"].startswith(documented_type):
        problems.append(f"content-type: documented {documented_type}, got {answer.headers}")
    if exchange.response.body:
        documented = json.loads(exchange.response.body)
        problems += differences(documented, answer.json(), bindings)
    return [f"{exchange.where}: {problem} ({answer.text[:400]})" for problem in problems]


@pytest.mark.parametrize("document", WITH_EXCHANGES, ids=lambda path: path.name)
def test_every_http_example_answers_as_documented(server: Server, document: Path) -> None:
    bindings = the_world(server)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for exchange in exchanges(document):
            assert run(http, exchange, bindings) == []


def test_every_page_with_http_examples_names_the_test_that_runs_them() -> None:
    for path in WITH_HTTP:
        runner = page_runner(path)
        assert runner, f"{path.name}: http examples without a runner; add the marker comment"
        assert (ROOT / runner).is_file(), f"{path.name}: {runner} does not exist"
        assert path.name in (ROOT / runner).read_text() or runner == THIS_TEST, runner


def test_the_documents_hold_http_examples_and_each_pairs_a_request_with_its_answer() -> None:
    found = {path.name: len(exchanges(path)) for path in WITH_EXCHANGES}
    assert found.get("market.md", 0) >= 5, found


def test_every_curl_block_names_the_test_that_runs_it_verbatim() -> None:
    for path in DOCUMENTS:
        for block in blocks(path):
            if "curl " not in block.text:
                continue
            assert block.announced_by, f"{block.where}: a curl example no test runs"
            runner = ROOT / block.announced_by
            assert runner.is_file(), f"{block.where}: {block.announced_by} does not exist"
            if block.announced_as == "runs":
                assert path.name in runner.read_text(), f"{runner} does not read {path.name}"
            else:
                assert "docker" in block.text, f"{block.where}: only Docker is exempt from runs"


def test_inline_curl_examples_answer_200(server: Server) -> None:
    the_world(server)
    urls = [url for path in DOCUMENTS for url in INLINE_CURL.findall(path.read_text())]
    assert urls, "README's first curl example is gone"
    for url in urls:
        answer = httpx.get(url.replace(DOCUMENTED_URL, server.url), timeout=10)
        assert answer.status_code == 200, f"curl {url}: {answer.status_code} {answer.text}"


def _served(settings: Settings, database: Database) -> list[tuple[set[str], re.Pattern[str]]]:
    """Every route of the app: the OpenAPI document's, and the pages it leaves out."""
    app = create_app(settings, database)
    routes = [
        (path, {method.upper() for method in operations})
        for path, operations in app.openapi()["paths"].items()
    ]
    for router in (dashboard.router, swagger_ui.router):
        routes += [(route.path, set(route.methods)) for route in router.routes]  # type: ignore[attr-defined]
    return [
        (methods, re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"))
        for path, methods in routes
    ]


def test_every_endpoint_the_documents_name_is_served(
    settings: Settings, database: Database
) -> None:
    served = _served(settings, database)
    named = [
        (path.relative_to(ROOT), method, route.replace("…", "x").rstrip("."))
        for path in DOCUMENTS
        for method, route in INLINE_ROUTE.findall(path.read_text())
    ]
    assert len(named) > 40, named
    missing = [
        (where, method, route)
        for where, method, route in named
        if not any(method in methods and pattern.match(route) for methods, pattern in served)
    ]
    assert missing == []
