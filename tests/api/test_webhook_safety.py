"""A webhook delivery goes to the address that was checked, and to nothing else: the host
is resolved once per connection, every address is checked, and the connection is made to
a checked address while TLS still verifies the certificate against the host name."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from standardwebhooks import Webhook as StandardWebhook

from app.db import Database
from app.domain.events.dispatch import WebhookConfig, deliver_due
from tests.api.test_events import register
from tests.support.dns import ScriptedDns
from tests.support.factories import ADMIN, OrgHandle
from tests.support.market import funder
from tests.support.receiver import webhook_receiver
from tests.support.tls import make_authority

PUBLIC = "93.184.215.14"  # a public address this test never really dials
STRICT = WebhookConfig(allow_private=False, retry_scale=0, timeout_seconds=1)
PRIVATE_OK = WebhookConfig(allow_private=True, retry_scale=0, timeout_seconds=5)


async def deposit(client: httpx.AsyncClient, org: OrgHandle, ref: str) -> None:
    made = await client.post(
        f"/v1/orgs/{org.id}/deposits",
        json={"amount": 100, "currency": "USD", "external_ref": ref},
        headers=ADMIN,
    )
    assert made.status_code == 201, made.text


async def attempts(
    client: httpx.AsyncClient, org: OrgHandle, hook: dict[str, Any]
) -> list[dict[str, Any]]:
    log = await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=org.headers)
    (delivery,) = log.json()
    return list(delivery["attempts"])


def dial_log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host the HTTP stack opens a TCP connection to; `PUBLIC` is unreachable (the
    tests have no internet), everything else is dialled for real."""
    dialled: list[str] = []
    real = anyio.connect_tcp

    async def connect_tcp(remote_host: Any, remote_port: int, **kwargs: Any) -> Any:
        dialled.append(str(remote_host))
        if str(remote_host) == PUBLIC:
            raise OSError(errno.ENETUNREACH, "no route to the public internet in this test")
        return await real(remote_host, remote_port, **kwargs)

    monkeypatch.setattr(anyio, "connect_tcp", connect_tcp)
    return dialled


async def test_a_name_that_resolves_inside_on_the_next_lookup_cannot_redirect_a_delivery(
    client: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await funder(client, 0)
    with socket.create_server(("127.0.0.1", 0)) as inside:  # a service inside the platform
        port = inside.getsockname()[1]
        hook = await register(
            client, org, f"https://rebind.example:{port}/hook", ["deposit.created"]
        )
        dns = ScriptedDns(monkeypatch, {"rebind.example": [(PUBLIC,), ("127.0.0.1",)]})
        dialled = dial_log(monkeypatch)
        await deposit(client, org, "rebind")
        assert await deliver_due(database, STRICT) == 1
        inside.setblocking(False)
        with pytest.raises(BlockingIOError):
            inside.accept()  # nothing ever connected to the inside service
    assert dialled == [PUBLIC]  # the connection went to the address that was checked
    assert dns.lookups["rebind.example"] == 1  # resolved once, not once to check and again
    (attempt,) = await attempts(client, org, hook)
    assert attempt["status_code"] is None
    assert "ConnectError" in attempt["error"]


async def test_a_name_with_any_inside_address_is_refused_before_any_connection(
    client: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await funder(client, 0)
    hook = await register(client, org, "https://mixed.example/hook", ["deposit.created"])
    ScriptedDns(monkeypatch, {"mixed.example": [(PUBLIC, "10.0.0.7")]})
    dialled = dial_log(monkeypatch)
    await deposit(client, org, "mixed")
    assert await deliver_due(database, STRICT) == 1
    assert dialled == []
    (attempt,) = await attempts(client, org, hook)
    assert attempt["status_code"] is None
    assert "10.0.0.7" in attempt["error"]
    assert "not a public address" in attempt["error"]


async def test_https_to_the_checked_address_keeps_the_host_name_for_tls_and_host(
    client: httpx.AsyncClient,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    authority = make_authority(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
    ScriptedDns(monkeypatch, {"hooks.example": [("127.0.0.1",)]})
    dialled = dial_log(monkeypatch)
    org = await funder(client, 0)
    tls = authority.server_context("hooks.example")
    with webhook_receiver(tls=tls, host="hooks.example") as receiver:
        hook = await register(client, org, receiver.url, ["deposit.created"])
        await deposit(client, org, "tls")
        assert await deliver_due(database, PRIVATE_OK) == 1
    assert dialled == ["127.0.0.1"]
    (received,) = receiver.received
    assert receiver.server_names == ["hooks.example"]  # SNI names the host, not the address
    assert received.headers["host"] == receiver.url.split("/")[2]  # hooks.example:<port>
    StandardWebhook(hook["secret"]).verify(received.body, received.headers)
    assert [a["status_code"] for a in await attempts(client, org, hook)] == [200]


async def test_https_to_the_checked_address_refuses_a_certificate_for_another_name(
    client: httpx.AsyncClient,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    authority = make_authority(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
    ScriptedDns(monkeypatch, {"hooks.example": [("127.0.0.1",)]})
    org = await funder(client, 0)
    tls = authority.server_context("other.example")  # trusted CA, wrong name
    with webhook_receiver(tls=tls, host="hooks.example") as receiver:
        hook = await register(client, org, receiver.url, ["deposit.created"])
        await deposit(client, org, "wrong-name")
        assert await deliver_due(database, PRIVATE_OK) == 1
    assert receiver.received == []
    (attempt,) = await attempts(client, org, hook)
    assert attempt["status_code"] is None
    assert "CERTIFICATE_VERIFY_FAILED" in attempt["error"]
    assert "hooks.example" in attempt["error"]
