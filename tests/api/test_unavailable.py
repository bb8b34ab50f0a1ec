"""When the database cannot serve a request, the answer is a 503 problem the client can
retry, never a 500, and nothing is changed."""

from __future__ import annotations

import httpx

from app.db import Database
from app.main import create_app
from app.settings import Settings


async def test_an_unreachable_database_is_a_503_to_retry() -> None:
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        db_pool_timeout_seconds=1,
        transaction_max_attempts=1,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        for path in ("/v1/public/stats", "/v1/challenges", "/"):
            response = await http.get(path)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "database_unavailable"
            assert response.headers["retry-after"] == "1"


async def test_an_exhausted_connection_pool_is_a_503_to_retry(postgres_server_url: str) -> None:
    tight = Settings(
        database_url=postgres_server_url,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_seconds=1,
    )
    own = Database.from_settings(tight)
    app = create_app(tight, own)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            own.engine.connect(),  # the only connection, held
            httpx.AsyncClient(transport=transport, base_url="http://t") as http,
        ):
            response = await http.get("/v1/public/stats")
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_busy"
    finally:
        await own.dispose()
