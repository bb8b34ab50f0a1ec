"""Every error is problem+json with the right status; nothing malformed gets a 500."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from app.db import Database
from app.main import create_app
from app.settings import Settings

PROBLEM = "application/problem+json"


class Echo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    amount: int


probe = APIRouter()


@probe.post("/_probe/echo")
async def echo(body: Echo) -> Echo:
    return body


@probe.get("/_probe/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture
async def probe_client(database: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"max_body_bytes": 2048}), database)
    app.include_router(probe)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    for field in ("type", "title", "detail"):
        assert isinstance(body[field], str)
        assert body[field]
    return body


async def test_valid_body_is_accepted(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/_probe/echo", json={"name": "a", "amount": 1})
    assert response.status_code == 200


async def test_malformed_json_is_400(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/_probe/echo", content=b'{"name": "a",', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed_json")


async def test_wrong_content_type_is_415(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/_probe/echo", content=b"name=a&amount=1", headers={"content-type": "text/plain"}
    )
    assert_problem(response, 415, "unsupported_media_type")


async def test_oversized_body_is_413(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/_probe/echo", json={"name": "x" * 5000, "amount": 1})
    assert_problem(response, 413, "payload_too_large")


async def test_oversized_chunked_body_without_length_is_413(
    probe_client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    response = await probe_client.post(
        "/_probe/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload_too_large")


async def test_unknown_field_and_wrong_type_are_422_with_errors(
    probe_client: httpx.AsyncClient,
) -> None:
    response = await probe_client.post(
        "/_probe/echo", json={"name": "a", "amount": "lots", "owner": "me"}
    )
    body = assert_problem(response, 422, "validation_error")
    errors = body["errors"]
    assert isinstance(errors, list)
    locs = sorted(tuple(error["loc"]) for error in errors)
    assert locs == [("body", "amount"), ("body", "owner")]
    assert all(isinstance(error["msg"], str) for error in errors)


async def test_unknown_path_is_404(probe_client: httpx.AsyncClient) -> None:
    assert_problem(await probe_client.get("/v1/nothing-here"), 404, "not_found")


async def test_wrong_method_is_405(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.delete("/healthz")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_unexpected_exception_is_500_without_internals_and_logged_with_request_id(
    probe_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="tributary.errors"):
        response = await probe_client.get("/_probe/boom", headers={"X-Request-ID": "req-42"})
    body = assert_problem(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "req-42" in str(body["detail"])
    assert response.headers["x-request-id"] == "req-42"
    records = [r for r in caplog.records if r.name == "tributary.errors"]
    assert records
    assert records[0].exc_info is not None


async def test_request_id_is_generated_when_missing_or_unsafe(
    probe_client: httpx.AsyncClient,
) -> None:
    generated = (await probe_client.get("/healthz")).headers["x-request-id"]
    assert len(generated) == 32
    unsafe = await probe_client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 300})
    assert unsafe.headers["x-request-id"] != "a b\tc" + "x" * 300


async def test_a_failing_commit_is_an_error_response_not_a_success(
    client: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.ext.asyncio import AsyncSession

    from tests.support.factories import ADMIN

    async def failing_commit(self: AsyncSession) -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(AsyncSession, "commit", failing_commit)
    response = await client.post("/v1/orgs", json={"name": "n", "roles": ["funder"]}, headers=ADMIN)
    monkeypatch.undo()
    # Not a success, and not "nothing changed" either: the outcome is unknown and said so.
    body = assert_problem(response, 503, "outcome_unknown")
    assert "may or may not" in str(body["detail"])
    async with database.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM orgs"))).scalar_one() == 0
