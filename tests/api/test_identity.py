"""Organisations, API keys, authentication and the audit trail."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from app.domain.identity.secrets import hash_secret
from tests.support.factories import ADMIN, bearer, make_org


async def test_admin_creates_org_with_several_roles(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/orgs", json={"name": "Aqua Fund", "roles": ["funder", "steward"]}, headers=ADMIN
    )
    assert response.status_code == 201
    org = response.json()
    assert org["name"] == "Aqua Fund"
    assert sorted(org["roles"]) == ["funder", "steward"]
    assert set(org) >= {"id", "name", "roles", "created_at"}
    again = await client.get(f"/v1/orgs/{org['id']}", headers=ADMIN)
    assert again.json() == org


async def test_duplicate_org_name_is_409(client: httpx.AsyncClient) -> None:
    await make_org(client, "funder", name="Same")
    response = await client.post(
        "/v1/orgs", json={"name": "Same", "roles": ["actor"]}, headers=ADMIN
    )
    assert response.status_code == 409
    assert response.json()["code"] == "org_name_taken"


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "x", "roles": ["funder"], "id": "00000000-0000-0000-0000-000000000001"},
        {"name": "x", "roles": ["funder"], "created_at": "2020-01-01T00:00:00Z"},
        {"name": "x", "roles": ["emperor"]},
        {"name": "x", "roles": []},
        {"name": "", "roles": ["funder"]},
        {"name": "x" * 201, "roles": ["funder"]},
        {"roles": ["funder"]},
        ["not", "an", "object"],
    ],
)
async def test_org_bodies_that_break_the_schema_are_422_and_create_nothing(
    client: httpx.AsyncClient, database: Database, payload: object
) -> None:
    response = await client.post("/v1/orgs", json=payload, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    async with database.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM orgs"))).scalar_one() == 0


async def test_key_secret_is_shown_once_and_authenticates(client: httpx.AsyncClient) -> None:
    org = await make_org(client, "funder")
    issued = await client.post(
        f"/v1/orgs/{org.id}/api-keys", json={"label": "ci"}, headers=org.headers
    )
    assert issued.status_code == 201
    body = issued.json()
    assert body["secret"].startswith("trb_")
    assert len(body["secret"]) >= 40
    assert body["prefix"] == body["secret"][:12]
    listed = (await client.get(f"/v1/orgs/{org.id}/api-keys", headers=org.headers)).json()
    assert {key["id"] for key in listed} == {org.key_id, body["id"]}
    assert body["secret"] not in str(listed)
    assert "secret" not in listed[0]
    me = await client.get("/v1/me", headers=bearer(body["secret"]))
    assert me.status_code == 200
    assert me.json()["id"] == org.id


async def test_revoked_key_fails_with_401_on_the_next_request(client: httpx.AsyncClient) -> None:
    org = await make_org(client, "actor")
    assert (await client.get("/v1/me", headers=org.headers)).status_code == 200
    revoked = await client.delete(f"/v1/api-keys/{org.key_id}", headers=org.headers)
    assert revoked.status_code == 204
    response = await client.get("/v1/me", headers=org.headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer trb_nope", "Bearer ", "Basic dXNlcjpwYXNz", "trb_x", "Bearer " + "a" * 5000],
)
async def test_bad_credentials_are_401_problem(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.get("/v1/me", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_without_admin_token_configured_there_is_no_admin(
    database: Database, settings: object
) -> None:
    from app.main import create_app
    from app.settings import Settings

    assert isinstance(settings, Settings)
    app = create_app(settings.model_copy(update={"admin_token": None}), database)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.post(
            "/v1/orgs", json={"name": "a", "roles": ["funder"]}, headers=ADMIN
        )
    assert response.status_code == 401


async def test_last_used_is_recorded(client: httpx.AsyncClient) -> None:
    org = await make_org(client, "funder")
    await client.get("/v1/me", headers=org.headers)
    keys = (await client.get(f"/v1/orgs/{org.id}/api-keys", headers=ADMIN)).json()
    assert keys[0]["last_used_at"] is not None


async def test_secrets_never_stored_in_clear_nor_logged(
    client: httpx.AsyncClient, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        org = await make_org(client, "funder")
        await client.get("/v1/me", headers=org.headers)
        await client.get("/v1/me", headers=bearer(org.secret + "x"))
    assert org.secret not in caplog.text
    async with database.read() as session:
        rows = (await session.execute(text("SELECT * FROM api_keys"))).all()
        audit = (await session.execute(text("SELECT * FROM audit_log"))).all()
    dumped = repr(rows) + repr(audit)
    assert org.secret not in dumped
    assert org.secret[4:] not in dumped
    assert hash_secret(org.secret) in dumped


async def test_audit_trail_records_who_did_what_and_how_it_ended(
    client: httpx.AsyncClient,
) -> None:
    org = await make_org(client, "funder")
    await client.post("/v1/orgs", json={"name": "x", "roles": ["funder"]}, headers=org.headers)
    await client.post(f"/v1/orgs/{org.id}/api-keys", json={"label": "two"}, headers=org.headers)
    page = await client.get(f"/v1/audit?org_id={org.id}", headers=ADMIN)
    assert page.status_code == 200
    records = page.json()["items"]
    assert [(r["method"], r["path"], r["status"], r["actor"]) for r in records] == [
        ("POST", "/v1/orgs", 403, "key"),
        ("POST", f"/v1/orgs/{org.id}/api-keys", 201, "key"),
    ]
    assert all(r["key_id"] == org.key_id and r["request_id"] for r in records)
    everything = (await client.get("/v1/audit?limit=200", headers=ADMIN)).json()["items"]
    assert ("POST", "/v1/orgs", 201, "admin") in [
        (r["method"], r["path"], r["status"], r["actor"]) for r in everything
    ]


async def test_audit_pages_follow_the_cursor(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await make_org(client, "funder")
    first = (await client.get("/v1/audit?limit=4", headers=ADMIN)).json()
    assert len(first["items"]) == 4
    rest = (
        await client.get(f"/v1/audit?limit=4&cursor={first['next_cursor']}", headers=ADMIN)
    ).json()
    assert len(rest["items"]) == 2
    assert rest["next_cursor"] is None
    bad = await client.get("/v1/audit?cursor=!!!", headers=ADMIN)
    assert bad.status_code == 422
