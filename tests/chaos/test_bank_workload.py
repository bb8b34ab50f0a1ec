"""A bank workload under faults: two uvicorn servers on one PostgreSQL database, concurrent
clients doing deposits, pledges, withdrawals and a full award -> claim -> attest -> payout
cycle, every request with an Idempotency-Key. Mid-run one server is killed with SIGKILL and
restarted, and every database connection is dropped with pg_terminate_backend.

Any request whose outcome the client could not learn (connection lost, timeout, 5xx) is
replayed with its key until it gets an answer. Afterwards every wallet holds exactly what
the successful operations imply, and the ledger's checks (with the flow rollup) hold. A key is
written with its request's work, so no replay is ever told that its key is still in use by a
request that died: it gets its definite answer as soon as a server answers.
"""

from __future__ import annotations

import asyncio
import random
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.support.factories import ADMIN
from tests.support.scratch_db import scratch_database
from tests.support.servers import Server, start_server, stop_server

pytestmark = pytest.mark.postgres_only

FUNDERS = 6
CLIENTS = 6
OPS_PER_CLIENT = 40
CHAOS = {"TRIBUTARY_DUE_WORK_INTERVAL_SECONDS": "0.5"}


@dataclass
class Op:
    method: str
    path: str
    body: dict[str, Any] | None
    headers: dict[str, str]
    key: str = field(default_factory=lambda: f"chaos-{uuid.uuid4()}")
    status: int | None = None
    answer: dict[str, Any] | None = None
    unknown: int = 0  # answers it never got: lost connections, timeouts, 5xx
    in_use: int = 0  # 409 idempotency_key_in_use answers to its replays
    first_unknown_at: float | None = None
    answered_at: float | None = None

    @property
    def recovery_seconds(self) -> float:
        """From the first answer it never got to its definite answer."""
        if self.first_unknown_at is None or self.answered_at is None:
            return 0.0
        return self.answered_at - self.first_unknown_at


@dataclass
class Cluster:
    url: str
    folder: Path
    servers: list[Server]

    def pick(self) -> Server:
        return random.choice([s for s in self.servers if s.process.poll() is None])


@pytest.fixture
def cluster(postgres_server_url: str, tmp_path: Path) -> Iterator[Cluster]:
    with scratch_database(postgres_server_url, "chaos") as url:
        servers: list[Server] = []
        try:
            servers = [start_server(url, tmp_path, **CHAOS) for _ in range(2)]
            yield Cluster(url, tmp_path, servers)
        finally:
            for server in servers:
                stop_server(server)


async def send(cluster: Cluster, op: Op, *, deadline: float = 90) -> Op:
    """Send until the outcome is known: a 2xx or a 4xx answer. Lost connections, timeouts
    and 5xx are unknown outcomes: the same key is sent again (to any live server)."""
    loop = asyncio.get_running_loop()
    stop = loop.time() + deadline
    while loop.time() < stop:
        server = cluster.pick()
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
                response = await http.request(
                    op.method,
                    op.path,
                    json=op.body,
                    headers={**op.headers, "Idempotency-Key": op.key},
                )
        except httpx.HTTPError:
            op.unknown += 1
            op.first_unknown_at = op.first_unknown_at or loop.time()
            await asyncio.sleep(0.2)
            continue
        if response.status_code >= 500:
            op.unknown += 1
            op.first_unknown_at = op.first_unknown_at or loop.time()
        in_use = (
            response.status_code == 409 and response.json().get("code") == "idempotency_key_in_use"
        )
        op.in_use += int(in_use)
        if response.status_code >= 500 or in_use:
            await asyncio.sleep(0.3)
            continue
        op.status = response.status_code
        op.answer = response.json() if response.content else {}
        op.answered_at = loop.time()
        return op
    raise AssertionError(f"no answer for {op.method} {op.path} within {deadline}s")


async def call(cluster: Cluster, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    op = await send(cluster, Op(method, path, body, headers))
    assert op.status is not None
    assert op.status < 300, f"{method} {path}: {op.status} {op.answer}"
    return op.answer


async def org(cluster: Cluster, *roles: str) -> tuple[str, dict[str, str]]:
    made = await call(
        cluster,
        "POST",
        "/v1/orgs",
        {"name": f"o-{uuid.uuid4().hex[:8]}", "roles": list(roles)},
        ADMIN,
    )
    key = await call(cluster, "POST", f"/v1/orgs/{made['id']}/api-keys", {}, ADMIN)
    return made["id"], {"Authorization": f"Bearer {key['secret']}"}


async def market(cluster: Cluster) -> dict[str, Any]:
    _steward_id, steward = await org(cluster, "steward")
    challenge = await call(
        cluster,
        "POST",
        "/v1/challenges",
        {"title": "Chaos", "currency": "USD", "sdg_targets": ["6.1"]},
        steward,
    )
    await call(cluster, "POST", f"/v1/challenges/{challenge['id']}/open", None, steward)
    milestone = await call(
        cluster,
        "POST",
        f"/v1/challenges/{challenge['id']}/milestones",
        {
            "title": "Wells",
            "metric": "wells",
            "unit": "wells",
            "target": 10,
            "payout_rule": "pro_rata",
            "budget_cap": 10**9,
            "quorum": 2,
            "due_at": "2035-01-01T00:00:00Z",
        },
        steward,
    )
    funders = [await org(cluster, "funder") for _ in range(FUNDERS)]
    lead_id, lead = await org(cluster, "actor")
    partner_id, partner = await org(cluster, "actor")
    swarm = await call(
        cluster,
        "POST",
        "/v1/swarms",
        {
            "name": "S",
            "members": [
                {"org_id": lead_id, "share_bps": 7000},
                {"org_id": partner_id, "share_bps": 3000},
            ],
        },
        lead,
    )
    await call(cluster, "POST", f"/v1/swarms/{swarm['id']}/accept", None, partner)
    verifiers = [await org(cluster, "verifier") for _ in range(2)]
    return {
        "steward": steward,
        "challenge": challenge["id"],
        "milestone": milestone["id"],
        "funders": funders,
        "lead": (lead_id, lead),
        "partner": (partner_id, partner),
        "swarm": swarm["id"],
        "verifiers": verifiers,
    }


async def client_ops(cluster: Cluster, world: dict[str, Any], seed: int) -> list[Op]:
    rng = random.Random(seed)
    done = []
    for _ in range(OPS_PER_CLIENT):
        funder_id, funder = rng.choice(world["funders"])
        roll = rng.random()
        if roll < 0.4:
            op = Op(
                "POST",
                f"/v1/orgs/{funder_id}/deposits",
                {
                    "amount": rng.randint(100, 5_000),
                    "currency": "USD",
                    "external_ref": f"x-{uuid.uuid4()}",
                },
                ADMIN,
            )
        elif roll < 0.75:
            op = Op(
                "POST",
                f"/v1/challenges/{world['challenge']}/pledges",
                {"amount": rng.randint(50, 2_000), "kind": "direct"},
                funder,
            )
        else:
            op = Op(
                "POST",
                f"/v1/orgs/{funder_id}/withdrawals",
                {"amount": rng.randint(10, 1_500), "currency": "USD"},
                funder,
            )
        done.append(await send(cluster, op))
    return done


async def delivery_cycle(cluster: Cluster, world: dict[str, Any]) -> list[Op]:
    """Bid, award, assign, claim and attest twice: the payout to the swarm."""
    _lead_id, lead = world["lead"]
    await asyncio.sleep(1.0)  # let some pledges land first
    bid = await call(
        cluster,
        "POST",
        f"/v1/milestones/{world['milestone']}/bids",
        {"swarm_id": world["swarm"], "amount": 3_000, "plan": "p"},
        lead,
    )
    while True:
        award = await send(
            cluster, Op("POST", f"/v1/bids/{bid['id']}/award", None, world["steward"])
        )
        if award.status == 200:
            break
        assert award.answer is not None
        assert award.answer["code"] == "insufficient_funds"
        await asyncio.sleep(0.5)
    await call(
        cluster,
        "PUT",
        f"/v1/milestones/{world['milestone']}/verifiers",
        {"org_ids": [v[0] for v in world["verifiers"]]},
        world["steward"],
    )
    claim = await call(
        cluster,
        "POST",
        f"/v1/milestones/{world['milestone']}/claims",
        {"reported_value": 8, "evidence": [{"uri": "https://e.example/r"}]},
        lead,
    )
    attests = [
        await send(
            cluster,
            Op(
                "POST",
                f"/v1/claims/{claim['id']}/attestations",
                {"verdict": "approve", "value": 8},
                headers,
            ),
        )
        for _, headers in world["verifiers"]
    ]
    return [award, *attests]


async def chaos(cluster: Cluster) -> None:
    """SIGKILL one server mid-run and restart it on its port; drop every connection."""
    await asyncio.sleep(2.0)
    victim = cluster.servers[0]
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait()
    await asyncio.sleep(0.5)
    with psycopg.connect(cluster.url.replace("+asyncpg", ""), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    await asyncio.sleep(0.5)
    cluster.servers[0] = await asyncio.to_thread(
        start_server, cluster.url, cluster.folder, victim.port, **CHAOS
    )


async def run(cluster: Cluster) -> None:
    world = await market(cluster)
    results = await asyncio.gather(
        *(client_ops(cluster, world, seed) for seed in range(CLIENTS)),
        delivery_cycle(cluster, world),
        chaos(cluster),
    )
    ops = [op for batch in results[:CLIENTS] for op in batch]
    assert all(op.status is not None and op.status < 500 for op in ops)
    expected: dict[str, int] = {funder_id: 0 for funder_id, _ in world["funders"]}
    for op in ops:
        if op.status not in (200, 201):
            assert op.answer is not None, op
            assert op.answer["code"] == "insufficient_funds", op.answer
            continue
        funder_id = op.path.split("/")[3] if op.path.startswith("/v1/orgs/") else None
        if op.path.endswith("/deposits"):
            expected[funder_id] += op.body["amount"]  # type: ignore[index]
        elif op.path.endswith("/withdrawals"):
            expected[funder_id] -= op.body["amount"]  # type: ignore[index]
        else:
            owner = next(f for f, h in world["funders"] if h == op.headers)
            expected[owner] -= op.body["amount"]  # type: ignore[index]
    async with httpx.AsyncClient(base_url=cluster.pick().url, timeout=30) as http:
        for funder_id, amount in expected.items():
            balances = (await http.get(f"/v1/orgs/{funder_id}/balances", headers=ADMIN)).json()
            held = {b["currency"]: b["available"] for b in balances["balances"]}
            assert held.get("USD", 0) == amount, funder_id
        milestone = (await http.get(f"/v1/milestones/{world['milestone']}")).json()
        assert milestone["status"] == "paid"
        payout = milestone["payout"]
        for org_id, _ in (world["lead"], world["partner"]):
            balances = (await http.get(f"/v1/orgs/{org_id}/balances", headers=ADMIN)).json()
            paid = next(s["amount"] for s in payout["splits"] if s["org_id"] == org_id)
            assert balances["balances"][0]["available"] == paid
        report = (await http.get("/v1/ledger/verify", headers=ADMIN)).json()
        assert report["ok"], report["violations"]
    assert sum(1 for op in ops if op.status in (200, 201)) > CLIENTS * OPS_PER_CLIENT // 2
    assert sum(op.unknown for op in ops) > 0, "the faults must have hit requests in flight"
    # No replay waits out a dead request's hold on its key: there is none to wait out.
    assert sum(op.in_use for op in ops) == 0
    slowest = max(op.recovery_seconds for op in ops)
    print(
        f"chaos: {sum(op.unknown > 0 for op in ops)} ops lost an answer; the slowest got its "
        f"definite answer {slowest:.1f} s after"
    )


def test_the_books_balance_after_a_killed_server_and_dropped_connections(cluster: Cluster) -> None:
    asyncio.run(run(cluster))
