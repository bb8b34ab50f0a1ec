"""Two uvicorn servers, one PostgreSQL: conflicting requests resolve exactly.

These run real OS processes against one database, so every lock, retry and idempotency
guarantee is exercised across processes, not just across coroutines.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.factories import ADMIN, make_org
from tests.support.market import available, funder, open_challenge, totals
from tests.support.postgres import create_database, drop_database
from tests.support.servers import Server, server_env, servers

pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def cluster(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Server]]:
    name = f"tributary_http_{uuid.uuid4().hex[:10]}"
    url = create_database(postgres_server_url, name)
    try:
        subprocess.run(
            [sys.executable, "-m", "app.cli", "migrate"],
            env=server_env(url),
            check=True,
            capture_output=True,
        )
        with servers(url, tmp_path_factory.mktemp("servers"), count=2) as started:
            yield started
    finally:
        drop_database(postgres_server_url, name)


@pytest.fixture
async def clients(cluster: list[Server]) -> AsyncIterator[list[httpx.AsyncClient]]:
    limits = httpx.Limits(max_connections=100)
    opened = [httpx.AsyncClient(base_url=s.url, timeout=30, limits=limits) for s in cluster]
    try:
        yield opened
    finally:
        for client in opened:
            await client.aclose()


async def funded_org(client: httpx.AsyncClient, amount: int) -> tuple[str, dict[str, str]]:
    org = await client.post(
        "/v1/orgs", json={"name": f"o-{uuid.uuid4().hex[:8]}", "roles": ["funder"]}, headers=ADMIN
    )
    org_id = org.json()["id"]
    key = await client.post(f"/v1/orgs/{org_id}/api-keys", json={}, headers=ADMIN)
    deposit = await client.post(
        f"/v1/orgs/{org_id}/deposits",
        json={"amount": amount, "currency": "USD", "external_ref": f"seed-{org_id}"},
        headers=ADMIN,
    )
    assert deposit.status_code == 201
    return org_id, {"Authorization": f"Bearer {key.json()['secret']}"}


async def test_forty_concurrent_withdrawals_of_ten_percent_succeed_exactly_ten_times(
    clients: list[httpx.AsyncClient],
) -> None:
    org_id, headers = await funded_org(clients[0], 10_000)

    async def withdraw(index: int) -> int:
        response = await clients[index % 2].post(
            f"/v1/orgs/{org_id}/withdrawals",
            json={"amount": 1_000, "currency": "USD"},
            headers=headers,
        )
        return response.status_code

    statuses = Counter(await asyncio.gather(*(withdraw(i) for i in range(40))))
    assert statuses == {201: 10, 409: 30}
    balances = (await clients[1].get(f"/v1/orgs/{org_id}/balances", headers=headers)).json()
    assert balances["balances"] == [{"currency": "USD", "available": 0, "held": 0}]


async def test_one_idempotency_key_sent_to_both_servers_at_once_pays_once(
    clients: list[httpx.AsyncClient],
) -> None:
    org_id, headers = await funded_org(clients[0], 10_000)
    keyed = {**headers, "Idempotency-Key": f"once-{uuid.uuid4()}"}

    async def withdraw(index: int) -> httpx.Response:
        return await clients[index % 2].post(
            f"/v1/orgs/{org_id}/withdrawals",
            json={"amount": 700, "currency": "USD"},
            headers=keyed,
        )

    responses = await asyncio.gather(*(withdraw(i) for i in range(12)))
    assert {r.status_code for r in responses} <= {201, 409}
    created = [r.json() for r in responses if r.status_code == 201]
    assert created
    assert all(body == created[0] for body in created)
    conflicts = [r.json()["code"] for r in responses if r.status_code == 409]
    assert set(conflicts) <= {"idempotency_key_in_use"}
    balances = (await clients[0].get(f"/v1/orgs/{org_id}/balances", headers=headers)).json()
    assert balances["balances"][0]["available"] == 9_300


async def test_racing_deposits_with_one_external_ref_credit_once(
    clients: list[httpx.AsyncClient],
) -> None:
    org_id, headers = await funded_org(clients[0], 1)
    ref = f"bank-{uuid.uuid4()}"

    async def deposit(index: int) -> httpx.Response:
        return await clients[index % 2].post(
            f"/v1/orgs/{org_id}/deposits",
            json={"amount": 500, "currency": "USD", "external_ref": ref},
            headers=ADMIN,
        )

    responses = await asyncio.gather(*(deposit(i) for i in range(10)))
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    balances = (await clients[1].get(f"/v1/orgs/{org_id}/balances", headers=headers)).json()
    assert balances["balances"][0]["available"] == 501
    verify = (await clients[0].get("/v1/ledger/verify", headers=ADMIN)).json()
    assert verify["ok"], verify


async def test_a_revoked_key_fails_at_once_here_and_within_a_second_on_every_server(
    clients: list[httpx.AsyncClient],
) -> None:
    """Keys are resolved from a one-second cache in each process (docs/security.md): the
    process that revoked a key refuses it at once, every other one within the second."""
    here, there = clients
    org_id, headers = await funded_org(here, 1_000)
    for client in (here, there):  # both processes now hold the key in their caches
        assert (await client.get("/v1/me", headers=headers)).status_code == 200
    (key,) = (await here.get(f"/v1/orgs/{org_id}/api-keys", headers=ADMIN)).json()
    assert (await here.delete(f"/v1/api-keys/{key['id']}", headers=ADMIN)).status_code == 204
    assert (await here.get("/v1/me", headers=headers)).status_code == 401
    await asyncio.sleep(1.1)  # the cache's lifetime: one second
    assert (await there.get("/v1/me", headers=headers)).status_code == 401
    withdrawal = await there.post(
        f"/v1/orgs/{org_id}/withdrawals", json={"amount": 1, "currency": "USD"}, headers=headers
    )
    assert withdrawal.status_code == 401


async def test_pledge_batches_over_three_challenges_in_opposite_orders_all_commit(
    clients: list[httpx.AsyncClient],
) -> None:
    """Each batch locks its challenges in id order, whatever the order of its items, so
    batches naming the same challenges in opposite orders on two servers never deadlock."""
    funders = [await funder(clients[0], 1_000_000) for _ in range(2)]
    steward = await make_org(clients[0], "steward")
    challenges = [(await open_challenge(clients[0], steward))[0]["id"] for _ in range(3)]

    async def batch(index: int) -> httpx.Response:
        order = challenges if index % 2 else list(reversed(challenges))
        items = [{"challenge_id": c, "amount": 100 + index, "kind": "direct"} for c in order]
        return await clients[index % 2].post(
            "/v1/pledges/batch", json={"items": items}, headers=funders[index // 2 % 2].headers
        )

    responses = await asyncio.gather(*(batch(i) for i in range(24)))
    assert [r.status_code for r in responses] == [201] * 24, [r.text for r in responses]
    pledged = sum(100 + i for i in range(24))
    for challenge_id in challenges:
        assert (await totals(clients[1], challenge_id))["available"] == pledged
    spent = [3 * sum(100 + i for i in range(24) if i // 2 % 2 == n) for n in (0, 1)]
    for org, paid in zip(funders, spent, strict=True):
        assert await available(clients[0], org) == (1_000_000 - paid, 0)
    verify = (await clients[0].get("/v1/ledger/verify", headers=ADMIN)).json()
    assert verify["ok"], verify


async def test_overlapping_deposit_batches_on_two_servers_credit_each_reference_once(
    clients: list[httpx.AsyncClient],
) -> None:
    """Batches sharing references in different orders: every batch answers 201, each
    reference names one deposit in every answer, and the wallet holds each once."""
    org_id, headers = await funded_org(clients[0], 1)
    refs = [f"stmt-{uuid.uuid4().hex[:8]}-{n}" for n in range(12)]
    amounts = {ref: 1_000 + n for n, ref in enumerate(refs)}

    async def batch(index: int) -> httpx.Response:
        chosen = random.Random(index).sample(refs, 8)
        items = [{"amount": amounts[r], "currency": "USD", "external_ref": r} for r in chosen]
        return await clients[index % 2].post(
            f"/v1/orgs/{org_id}/deposits/batch", json={"items": items}, headers=ADMIN
        )

    responses = await asyncio.gather(*(batch(i) for i in range(16)))
    assert [r.status_code for r in responses] == [201] * 16, [r.text for r in responses]
    ids: dict[str, set[str]] = {}
    for response in responses:
        for item in response.json()["items"]:
            ids.setdefault(item["external_ref"], set()).add(item["id"])
    assert all(len(found) == 1 for found in ids.values()), ids
    balances = (await clients[1].get(f"/v1/orgs/{org_id}/balances", headers=headers)).json()
    assert balances["balances"][0]["available"] == 1 + sum(amounts[r] for r in ids)
    verify = (await clients[0].get("/v1/ledger/verify", headers=ADMIN)).json()
    assert verify["ok"], verify
