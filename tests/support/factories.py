"""Test data made through the public API, one small piece at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass(frozen=True)
class OrgHandle:
    """An organisation made for a test and a working key of it."""

    id: str
    secret: str
    key_id: str
    body: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def make_org(
    client: httpx.AsyncClient, *roles: str, name: str | None = None, public_name: str | None = None
) -> OrgHandle:
    payload: dict[str, Any] = {
        "name": name or f"org-{uuid.uuid4().hex[:10]}",
        "roles": list(roles) or ["funder"],
    }
    if public_name is not None:
        payload["public_name"] = public_name
    created = await client.post("/v1/orgs", json=payload, headers=ADMIN)
    assert created.status_code == 201, created.text
    org = created.json()
    key = await client.post(f"/v1/orgs/{org['id']}/api-keys", json={}, headers=ADMIN)
    assert key.status_code == 201, key.text
    return OrgHandle(id=org["id"], secret=key.json()["secret"], key_id=key.json()["id"], body=org)
