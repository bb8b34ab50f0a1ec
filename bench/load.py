"""A realistic load on `tributary serve --workers 2` over PostgreSQL, at 10, 100 and 500
concurrent clients.

The mix, per client request: 90% public reads (a challenge's flows, platform stats, a
challenge with its totals, the challenge list, the dashboard page), 8% direct pledges by
one of 200 funders, 2% a step of a full delivery cycle (a steward adds a milestone, the
swarm bids, the steward awards and assigns verifiers, the swarm claims, two verifiers
attest and the payout is made). Clients are coroutines in two load processes; each sends
its next request when the last one answered.

    .venv/bin/python bench/load.py [--seconds 20] [--clients 10,100,500]

Prints, per level: requests per second, p50 / p95 / p99 latency (ms) for all requests and
per kind, and how many requests failed (5xx or transport errors). Needs PostgreSQL at
BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres); it creates and
drops its own database.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from tests.support.postgres import create_database, drop_database
from tests.support.servers import Server, free_port, server_env, wait_ready

ADMIN_TOKEN = "bench-admin-token-0123456789"  # noqa: S105 - a throwaway local server
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FUNDERS = 200
LOAD_PROCESSES = 2


def _org(http: httpx.Client, role: str, name: str) -> tuple[str, dict[str, str]]:
    made = http.post("/v1/orgs", json={"name": name, "roles": [role]}, headers=ADMIN)
    made.raise_for_status()
    key = http.post(f"/v1/orgs/{made.json()['id']}/api-keys", json={}, headers=ADMIN)
    return made.json()["id"], {"Authorization": f"Bearer {key.json()['secret']}"}


def build_world(url: str) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=60) as http:
        _steward_id, steward = _org(http, "steward", "Bench steward")
        challenge = http.post(
            "/v1/challenges",
            json={"title": "Load", "currency": "USD", "sdg_targets": ["6.1"], "region": "KE"},
            headers=steward,
        ).json()
        http.post(f"/v1/challenges/{challenge['id']}/open", headers=steward).raise_for_status()
        funders = []
        for n in range(FUNDERS):
            funder_id, headers = _org(http, "funder", f"Bench funder {n}")
            http.post(
                f"/v1/orgs/{funder_id}/deposits",
                json={"amount": 10**10, "currency": "USD", "external_ref": f"load-{n}"},
                headers=ADMIN,
            ).raise_for_status()
            http.post(
                f"/v1/challenges/{challenge['id']}/pledges",
                json={"amount": 10**8, "kind": "direct"},
                headers=headers,
            ).raise_for_status()
            funders.append(headers)
        lead_id, lead = _org(http, "actor", "Bench lead")
        partner_id, partner = _org(http, "actor", "Bench partner")
        swarm = http.post(
            "/v1/swarms",
            json={
                "name": "Bench swarm",
                "members": [
                    {"org_id": lead_id, "share_bps": 6000},
                    {"org_id": partner_id, "share_bps": 4000},
                ],
            },
            headers=lead,
        ).json()
        http.post(f"/v1/swarms/{swarm['id']}/accept", headers=partner).raise_for_status()
        verifiers = [_org(http, "verifier", f"Bench verifier {n}") for n in range(2)]
    return {
        "challenge": challenge["id"],
        "steward": steward,
        "funders": funders,
        "lead": lead,
        "swarm": swarm["id"],
        "verifiers": verifiers,
    }


class Cycle:
    """One client's walk through a delivery cycle, one request per step."""

    def __init__(self, world: dict[str, Any]) -> None:
        self.world = world
        self.step = 0
        self.ids: dict[str, str] = {}

    def next_request(self) -> tuple[str, str, Any, dict[str, str], str]:
        w, ids = self.world, self.ids
        steps = [
            (
                "POST",
                f"/v1/challenges/{w['challenge']}/milestones",
                {
                    "title": "Cycle",
                    "metric": "m",
                    "unit": "u",
                    "target": 10,
                    "payout_rule": "pro_rata",
                    "budget_cap": 10**9,
                    "quorum": 2,
                    "due_at": "2035-01-01T00:00:00Z",
                },
                w["steward"],
                "milestone",
            ),
            (
                "POST",
                f"/v1/milestones/{ids.get('milestone')}/bids",
                {"swarm_id": w["swarm"], "amount": 50_000, "plan": "p"},
                w["lead"],
                "bid",
            ),
            ("POST", f"/v1/bids/{ids.get('bid')}/award", None, w["steward"], ""),
            (
                "PUT",
                f"/v1/milestones/{ids.get('milestone')}/verifiers",
                {"org_ids": [v[0] for v in w["verifiers"]]},
                w["steward"],
                "",
            ),
            (
                "POST",
                f"/v1/milestones/{ids.get('milestone')}/claims",
                {"reported_value": 9, "evidence": [{"uri": "https://e.example/r"}]},
                w["lead"],
                "claim",
            ),
            (
                "POST",
                f"/v1/claims/{ids.get('claim')}/attestations",
                {"verdict": "approve", "value": 9},
                w["verifiers"][0][1],
                "",
            ),
            (
                "POST",
                f"/v1/claims/{ids.get('claim')}/attestations",
                {"verdict": "approve", "value": 9},
                w["verifiers"][1][1],
                "",
            ),
        ]
        return steps[self.step]

    def record(self, saves: str, body: dict[str, Any]) -> None:
        if saves:
            self.ids[saves] = body["id"]
        self.step = (self.step + 1) % 7
        if self.step == 0:
            self.ids = {}


async def client(
    http: httpx.AsyncClient,
    world: dict[str, Any],
    until: float,
    timings: dict[str, list[float]],
    errors: list[str],
    rng: random.Random,
) -> None:
    cycle = Cycle(world)
    reads = [
        f"/v1/public/flows?challenge_id={world['challenge']}",
        "/v1/public/stats",
        f"/v1/challenges/{world['challenge']}",
        "/v1/challenges?limit=20",
        f"/challenges/{world['challenge']}",
    ]
    while time.monotonic() < until:
        roll = rng.random()
        saves = ""
        if roll < 0.90:
            kind, method, path, body, headers = "read", "GET", rng.choice(reads), None, {}
        elif roll < 0.98:
            kind, method = "pledge", "POST"
            path = f"/v1/challenges/{world['challenge']}/pledges"
            body, headers = (
                {"amount": rng.randint(1, 10_000), "kind": "direct"},
                rng.choice(world["funders"]),
            )
        else:
            kind = "cycle"
            method, path, body, headers, saves = cycle.next_request()
        start = time.perf_counter()
        try:
            response = await http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as error:
            errors.append(f"{kind}: {type(error).__name__}")
            continue
        timings[kind].append((time.perf_counter() - start) * 1000)
        if response.status_code >= 500:
            errors.append(f"{kind}: {response.status_code}")
        elif kind == "cycle":
            if response.status_code < 300:
                cycle.record(saves, response.json() if response.content else {})
            else:
                errors.append(f"cycle {response.status_code}: {response.text[:120]}")
                cycle.step, cycle.ids = 0, {}


def load_process(url: str, world: dict[str, Any], clients: int, seconds: float, out: Any) -> None:
    async def main() -> None:
        timings: dict[str, list[float]] = defaultdict(list)
        errors: list[str] = []
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
            until = time.monotonic() + seconds
            await asyncio.gather(
                *(
                    client(http, world, until, timings, errors, random.Random(n + os.getpid()))
                    for n in range(clients)
                )
            )
        out.put((dict(timings), errors))

    asyncio.run(main())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run_level(url: str, world: dict[str, Any], clients: int, seconds: float) -> None:
    queue: Any = multiprocessing.Queue()
    share = [
        clients // LOAD_PROCESSES + (1 if n < clients % LOAD_PROCESSES else 0)
        for n in range(LOAD_PROCESSES)
    ]
    processes = [
        multiprocessing.Process(target=load_process, args=(url, world, n, seconds, queue))
        for n in share
        if n
    ]
    for process in processes:
        process.start()
    merged: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    for _ in processes:
        timings, errs = queue.get()
        for kind, values in timings.items():
            merged[kind] += values
        errors += errs
    for process in processes:
        process.join()
    everything = [v for values in merged.values() for v in values]
    print(
        f"clients {clients:>4}: {len(everything) / seconds:8.1f} req/s  "
        f"p50 {statistics.median(everything):7.1f}  p95 {percentile(everything, 0.95):7.1f}  "
        f"p99 {percentile(everything, 0.99):7.1f} ms  failed {len(errors)}",
        flush=True,
    )
    for kind in ("read", "pledge", "cycle"):
        values = merged.get(kind, [])
        if values:
            print(
                f"      {kind:<7} {len(values):>7} requests  p50 {statistics.median(values):7.1f}  "
                f"p95 {percentile(values, 0.95):7.1f}  p99 {percentile(values, 0.99):7.1f} ms",
                flush=True,
            )
    if errors:
        print("      errors: " + ", ".join(sorted(set(errors))[:5]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", default="10,100,500")
    args = parser.parse_args()
    server_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"tributary_bench_load_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    try:
        env = server_env(
            url,
            TRIBUTARY_ADMIN_TOKEN=ADMIN_TOKEN,
            TRIBUTARY_DB_POOL_SIZE="20",
            # As docs/performance.md's figures were measured: without sealing.
            TRIBUTARY_LEDGER_SIGNING_KEY="",
            TRIBUTARY_LEDGER_SEALING="off",
        )
        subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env, check=True)
        port = free_port()
        with tempfile.TemporaryDirectory() as folder:
            log = Path(folder) / "server.log"
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            server = Server(port, process, log)
            try:
                wait_ready(server, 60)
                start = time.perf_counter()
                world = build_world(server.url)
                print(
                    f"setup  {FUNDERS} funders with pledges, a swarm, verifiers: "
                    f"{time.perf_counter() - start:.1f} s",
                    flush=True,
                )
                for clients in (int(c) for c in args.clients.split(",")):
                    run_level(server.url, world, clients, args.seconds)
            finally:
                process.terminate()
                process.wait(timeout=60)
    finally:
        drop_database(server_url, name)


if __name__ == "__main__":
    main()
