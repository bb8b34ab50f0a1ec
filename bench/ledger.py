"""Ledger throughput and latency on PostgreSQL, through the Python API and through HTTP.

Scenarios, each at 1, 8 and 64 concurrent writers:
  cold  random transfers among 10,000 limited accounts (wallets)
  hot   every transfer credits one account (a wallet with shards, as the app opens them)
Python API: each writer runs `run_in_transaction` + `Ledger.transfer` in a loop; writers
are spread over two OS processes (the machine has two cores).
HTTP: `tributary serve --workers 2`; writers post deposits (world -> an org's wallet),
cold = a random one of 10,000 organisations, hot = always the same one. The load comes from
wrk when it is installed (`apt-get install wrk`: a C client that barely competes with the
server for the two cores) and from an httpx client process in any case.

    .venv/bin/python bench/ledger.py [--seconds 5] [--writers 1,8,64] [--skip-http]

Prints one line per run: committed transfers per second, p50 and p99 latency (ms).
Needs PostgreSQL at BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
it creates and drops its own database.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from app.db import Database
from app.ledger import AccountFlags, EntrySpec, Ledger, Posting
from app.migrations import upgrade
from app.settings import Settings
from tests.support.postgres import create_database, drop_database

ACCOUNTS = 10_000
HOT_SHARDS = 8
ADMIN_TOKEN = "bench-admin-token-0123456789"  # noqa: S105 - a throwaway local server
FUNDING = 10**12


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def setup_ledger(url: str) -> tuple[list[uuid.UUID], uuid.UUID]:
    database = Database.from_settings(Settings(database_url=url))
    await upgrade(database.engine)
    world_ref = "bench"
    ids: list[uuid.UUID] = []

    async def open_batch(session, start: int) -> list[uuid.UUID]:  # type: ignore[no-untyped-def]
        ledger = Ledger(session)
        world = await ledger.open_account(
            code="world", currency="USD", owner_ref=world_ref, shards=16
        )
        opened = []
        for index in range(start, min(start + 500, ACCOUNTS)):
            account = await ledger.open_account(
                code="wallet",
                currency="USD",
                owner_ref=f"a{index}",
                flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            )
            await ledger.transfer(
                entry_id=uuid.uuid4(),
                debit_account_id=world.id,
                credit_account_id=account.id,
                amount=FUNDING,
                kind="fund",
            )
            opened.append(account.id)
        return opened

    for start in range(0, ACCOUNTS, 500):
        ids.extend(await database.transaction(lambda s, start=start: open_batch(s, start)))

    async def open_hot(session) -> uuid.UUID:  # type: ignore[no-untyped-def]
        hot = await Ledger(session).open_account(
            code="wallet",
            currency="USD",
            owner_ref="hot",
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
            shards=HOT_SHARDS,
        )
        return hot.id

    hot = await database.transaction(open_hot)
    await database.dispose()
    return ids, hot


async def api_writer_process(
    url: str,
    ids: list[uuid.UUID],
    hot: uuid.UUID | None,
    writers: int,
    seconds: float,
    batch: int = 1,
) -> list[float]:
    database = Database.from_settings(
        Settings(database_url=url, db_pool_size=max(writers, 1), db_max_overflow=0)
    )
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def writer() -> None:
        rng = random.Random()
        while time.perf_counter() < deadline:
            pairs = []
            while len(pairs) < batch:
                source = rng.choice(ids)
                target = hot if hot is not None else rng.choice(ids)
                if target != source:
                    pairs.append((source, target, rng.randint(1, 100)))
            pairs.sort()  # a common order makes deadlocks between batches rarer

            async def unit(session, pairs=pairs) -> None:  # type: ignore[no-untyped-def]
                ledger = Ledger(session)
                if len(pairs) == 1:
                    source, target, amount = pairs[0]
                    await ledger.transfer(
                        entry_id=uuid.uuid4(),
                        debit_account_id=source,
                        credit_account_id=target,
                        amount=amount,
                        kind="bench",
                    )
                    return
                await ledger.post_entries(
                    [
                        EntrySpec(
                            entry_id=uuid.uuid4(),
                            kind="bench",
                            postings=[
                                Posting.debit_of(source, amount),
                                Posting.credit_of(target, amount),
                            ],
                        )
                        for source, target, amount in pairs
                    ]
                )

            started = time.perf_counter()
            await database.transaction(unit)
            elapsed = time.perf_counter() - started
            latencies.extend([elapsed] * batch)

    await asyncio.gather(*(writer() for _ in range(writers)))
    await database.dispose()
    return latencies


def _api_child(
    args: tuple[str, list[uuid.UUID], uuid.UUID | None, int, float, int],
) -> list[float]:
    return asyncio.run(api_writer_process(*args))


def run_api(
    url: str,
    ids: list[uuid.UUID],
    hot: uuid.UUID | None,
    writers: int,
    seconds: float,
    batch: int = 1,
) -> list[float]:
    processes = min(2, writers)
    per_process = [
        writers // processes + (1 if i < writers % processes else 0) for i in range(processes)
    ]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        results = pool.map(_api_child, [(url, ids, hot, n, seconds, batch) for n in per_process])
    return [latency for result in results for latency in result]


def start_http(url: str, port: int, log_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": url,
        "TRIBUTARY_ADMIN_TOKEN": ADMIN_TOKEN,
        "TRIBUTARY_LOG_LEVEL": "WARNING",
        "TRIBUTARY_RATE_LIMIT_PER_SECOND": "0",
        "TRIBUTARY_DB_POOL_SIZE": "40",
        "TRIBUTARY_DB_MAX_OVERFLOW": "0",
        # As docs/performance.md's figures were measured: the write path, without sealing.
        "TRIBUTARY_LEDGER_SEALING": "off",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=(log_dir / "http.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("HTTP server did not start")


async def make_orgs(base: str, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        semaphore = asyncio.Semaphore(32)

        async def one(index: int) -> str:
            async with semaphore:
                response = await client.post(
                    "/v1/orgs",
                    json={"name": f"bench-{index}", "roles": ["funder"]},
                    headers=headers,
                )
                return str(response.json()["id"])

        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def http_writer_process(
    base: str, orgs: list[str], hot: bool, writers: int, seconds: float
) -> list[float]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=writers, max_keepalive_connections=writers)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def writer() -> None:
            rng = random.Random()
            while time.perf_counter() < deadline:
                org = orgs[0] if hot else rng.choice(orgs)
                started = time.perf_counter()
                response = await client.post(
                    f"/v1/orgs/{org}/deposits",
                    json={
                        "amount": rng.randint(1, 100),
                        "currency": "USD",
                        "external_ref": uuid.uuid4().hex,
                    },
                    headers=headers,
                )
                if response.status_code == 201:
                    latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(writer() for _ in range(writers)))
    return latencies


def _http_child(args: tuple[str, list[str], bool, int, float]) -> list[float]:
    return asyncio.run(http_writer_process(*args))


def run_http(base: str, orgs: list[str], hot: bool, writers: int, seconds: float) -> list[float]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.map(_http_child, [(base, orgs, hot, writers, seconds)])[0]


WRK_SCRIPT = """
local orgs = {%(orgs)s}
local hot = %(hot)s
local counter = 0
local thread_id = 0
setup = function(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
request = function()
  counter = counter + 1
  local org = hot and orgs[1] or orgs[math.random(1, #orgs)]
  local body = string.format(
    '{"amount": %%d, "currency": "USD", "external_ref": "wrk-%%s-%%d-%%d"}',
    math.random(1, 100), tid, counter, math.random(1, 2000000000))
  return wrk.format("POST", "/v1/orgs/" .. org .. "/deposits",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("WRK %%d %%d %%d %%d %%d\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), summary.duration))
end
"""


def run_wrk(
    base: str, orgs: list[str], hot: bool, writers: int, seconds: float, workdir: Path
) -> str:
    """Drive the server with wrk (C, so the client barely competes for the two cores)."""
    script = workdir / f"deposits-{'hot' if hot else 'cold'}.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "orgs": ", ".join(f'"{org}"' for org in orgs),
            "hot": "true" if hot else "false",
            "token": ADMIN_TOKEN,
        }
    )
    threads = min(2, writers)
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{writers}", f"-d{seconds:.0f}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("WRK "))
    requests, errors, p50_us, p99_us, duration_us = (int(v) for v in line.split()[1:])
    rate = (requests - errors) / (duration_us / 1e6)
    return (
        f"{rate:>9.0f} transfers/s   p50 {p50_us / 1000:7.2f} ms   p99 {p99_us / 1000:7.2f} ms"
        f"   ({errors} errors)"
    )


def report(label: str, latencies: list[float], seconds: float) -> None:
    rate = len(latencies) / seconds
    p50 = percentile(latencies, 0.50) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    print(
        f"{label:<28} {rate:>9.0f} transfers/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms", flush=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--writers", default="1,8,64")
    parser.add_argument("--batches", default="1,50", help="transfers per transaction, e.g. 1,50")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-api", action="store_true")
    args = parser.parse_args()
    writer_counts = [int(n) for n in args.writers.split(",")]
    batches = [int(n) for n in args.batches.split(",")]
    server = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"tributary_bench_{uuid.uuid4().hex[:8]}"
    url = create_database(server, name)
    try:
        print(
            f"# machine: {os.cpu_count()} CPUs; PostgreSQL {server}; {args.seconds:.0f} s per run",
            flush=True,
        )
        if not args.skip_api:
            ids, hot = asyncio.run(setup_ledger(url))
            for batch in batches:
                for writers in writer_counts:
                    for label, target in (("cold", None), ("hot ", hot)):
                        report(
                            f"api {label} batch={batch:<3} writers={writers}",
                            run_api(url, ids, target, writers, args.seconds, batch),
                            args.seconds,
                        )
        if not args.skip_http:
            subprocess.run(
                [sys.executable, "-m", "app.cli", "migrate"],
                env={"PATH": os.environ["PATH"], "DATABASE_URL": url},
                check=True,
                capture_output=True,
            )
            port = 18000 + random.randint(0, 999)
            with tempfile.TemporaryDirectory() as log_dir:
                process = start_http(url, port, Path(log_dir))
                try:
                    base = f"http://127.0.0.1:{port}"
                    orgs = asyncio.run(make_orgs(base, ACCOUNTS))
                    if shutil.which("wrk"):
                        for writers in writer_counts:
                            for label, hot_run in (("cold", False), ("hot ", True)):
                                figures = run_wrk(
                                    base, orgs, hot_run, writers, args.seconds, Path(log_dir)
                                )
                                name = f"http {label} (wrk) writers={writers}"
                                print(f"{name:<34} {figures}", flush=True)
                    for writers in writer_counts:
                        report(
                            f"http cold (httpx) writers={writers}",
                            run_http(base, orgs, False, writers, args.seconds),
                            args.seconds,
                        )
                        report(
                            f"http hot  (httpx) writers={writers}",
                            run_http(base, orgs, True, writers, args.seconds),
                            args.seconds,
                        )
                finally:
                    process.terminate()
                    process.wait(timeout=30)
    finally:
        drop_database(server, name)


if __name__ == "__main__":
    main()
