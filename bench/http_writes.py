"""HTTP write workloads for bench/ledger.py: deposits and direct pledges driven by wrk (a C
client that barely competes with the server for the two cores), batched deposits driven by
httpx, and the server's CPU per request read from /proc.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from pathlib import Path

import httpx

WRK_DEPOSITS = """
local orgs = {%(orgs)s}
local counter = 0
local thread_id = 0
setup = function(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
request = function()
  counter = counter + 1
  local org = orgs[math.random(1, #orgs)]
  local body = string.format(
    '{"amount": %%d, "currency": "USD", "external_ref": "wrk-%%s-%%d-%%d"}',
    math.random(1, 100), tid, counter, math.random(1, 2000000000))
  return wrk.format("POST", "/v1/orgs/" .. org .. "/deposits",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s"}, body)
end
"""

WRK_PLEDGES = """
local keys = {%(keys)s}
local challenges = {%(challenges)s}
request = function()
  local key = keys[math.random(1, #keys)]
  local challenge = challenges[math.random(1, #challenges)]
  return wrk.format("POST", "/v1/challenges/" .. challenge .. "/pledges",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key},
    '{"amount": 1, "kind": "direct"}')
end
"""

WRK_DONE = """
done = function(summary, latency, requests)
  io.write(string.format("WRK %d %d %d %d %d\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), summary.duration))
end
"""


def quoted(values: list[str]) -> str:
    return ", ".join(f'"{value}"' for value in values)


def wrk(
    base: str, script: str, connections: int, seconds: float, workdir: Path
) -> dict[str, float]:
    """Run wrk with a Lua script; requests/s of successes, p50/p99 ms, requests, errors."""
    path = workdir / f"bench-{uuid.uuid4().hex[:6]}.lua"
    path.write_text(script + WRK_DONE)
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds:.0f}s"]
    result = subprocess.run(
        [*command, "-s", str(path), base], capture_output=True, text=True, check=True
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("WRK "))
    requests, errors, p50_us, p99_us, duration_us = (int(v) for v in line.split()[1:])
    return {
        "rate": (requests - errors) / (duration_us / 1e6),
        "p50": p50_us / 1000,
        "p99": p99_us / 1000,
        "requests": requests,
        "errors": errors,
    }


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its descendants (the uvicorn workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pending.extend(int(child) for child in children)
    return total


async def make_market(
    base: str, admin: str, funders: int, challenges: int
) -> tuple[list[str], list[str]]:
    """Funders (with keys and money) and open challenges: (funder keys, challenge ids)."""
    headers = {"Authorization": f"Bearer {admin}"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def org(name: str, role: str) -> tuple[str, str]:
            made = await client.post(
                "/v1/orgs", json={"name": name, "roles": [role]}, headers=headers
            )
            org_id = made.json()["id"]
            key = await client.post(f"/v1/orgs/{org_id}/api-keys", json={}, headers=headers)
            return org_id, key.json()["secret"]

        _, steward_key = await org("bench-steward", "steward")
        steward = {"Authorization": f"Bearer {steward_key}"}
        ids = []
        for index in range(challenges):
            made = await client.post(
                "/v1/challenges",
                json={"title": f"Bench {index}", "currency": "USD", "sdg_targets": ["6.1"]},
                headers=steward,
            )
            await client.post(f"/v1/challenges/{made.json()['id']}/open", headers=steward)
            ids.append(made.json()["id"])
        keys = []
        for index in range(funders):
            org_id, key = await org(f"bench-funder-{index}", "funder")
            await client.post(
                f"/v1/orgs/{org_id}/deposits",
                json={"amount": 10**12, "currency": "USD", "external_ref": f"seed-{org_id}"},
                headers=headers,
            )
            keys.append(key)
        return keys, ids


async def batched_deposits(
    base: str, admin: str, orgs: list[str], writers: int, seconds: float, size: int = 1000
) -> float:
    """Ledger entries per second through POST /deposits/batch (`size` deposits each)."""
    headers = {"Authorization": f"Bearer {admin}"}
    done = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:

        async def writer(index: int) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                org = orgs[(index + done) % len(orgs)]
                items = [
                    {"amount": 1, "currency": "USD", "external_ref": uuid.uuid4().hex}
                    for _ in range(size)
                ]
                response = await client.post(
                    f"/v1/orgs/{org}/deposits/batch", json={"items": items}, headers=headers
                )
                assert response.status_code == 201, response.text
                done += size

        await asyncio.gather(*(writer(i) for i in range(writers)))
    return done / (time.perf_counter() - started)
