"""Liveness, readiness and metrics."""

from __future__ import annotations

import httpx
import pytest

from app.db import Database
from app.main import create_app
from app.settings import Settings


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_schema_is_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def _get(app_settings: Settings, path: str) -> httpx.Response:
    database = Database.from_settings(app_settings)
    app = create_app(app_settings, database)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            return await http.get(path)
    finally:
        await database.dispose()


async def test_readyz_is_503_when_schema_was_never_migrated(tmp_path: object) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    response = await _get(settings, "/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "schema_not_current"


async def test_readyz_is_503_when_database_does_not_answer() -> None:
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:9/none", db_pool_timeout_seconds=1
    )
    response = await _get(settings, "/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


@pytest.mark.usefixtures("database")
async def test_metrics_count_requests_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/healthz")
    await client.get("/no/such/path/7f3a")
    body = (await client.get("/metrics")).text
    assert 'tributary_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert 'route="<unmatched>",status="404"' in body
    assert "/no/such/path/7f3a" not in body
    assert "tributary_http_request_duration_seconds_bucket" in body
