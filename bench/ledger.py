"""Ledger throughput and latency on PostgreSQL, through the Python API and through HTTP,
beside the machine's own ceilings measured in the same run.

Python API, each at 1, 8 and 64 concurrent writers (`--writers`):
  cold  random transfers among 10,000 limited accounts (wallets)
  hot   every transfer credits one account (a wallet with shards, as the app opens them)
Each writer runs `run_in_transaction` + `Ledger.transfer` (or `post_entries`, `--batches`) in a
loop; writers are spread over two OS processes (the machine has two cores).

HTTP (`tributary serve --workers 2`, load from wrk, a C client): `pgbench -N` (scale 10) and
a pure-SQL ledger (bench/reference.py) at the same client counts first, then deposits
(admin, to one of `--orgs` organisations) and direct pledges (200 funders, 20 challenges),
each printed as a ratio of pgbench -N; the server's CPU per request at one client (from
/proc); batched deposits (1,000 per request) in ledger entries per second.

    apt-get install -y wrk
    .venv/bin/python bench/ledger.py [--seconds 5] [--writers 1,8,64] [--skip-api] [--skip-http]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres)
and pgbench; it creates and drops its own databases.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_writes
import reference

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


def report(label: str, latencies: list[float], seconds: float) -> None:
    rate = len(latencies) / seconds
    p50 = percentile(latencies, 0.50) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    print(
        f"{label:<28} {rate:>9.0f} transfers/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms", flush=True
    )


def ratio_line(label: str, rate: float, ceiling: float, extra: str = "") -> None:
    print(
        f"{label:<34} {rate:>9.0f} /s   {rate / ceiling:5.2f} of pgbench -N   {extra}", flush=True
    )


def http_part(url: str, server: str, writer_counts: list[int], args: argparse.Namespace) -> None:
    """HTTP deposits, direct pledges and batched deposits, each as a ratio of pgbench -N at
    the same number of clients, measured in this run; worker CPU per request at 1 client."""
    ceilings = reference.pgbench(server, writer_counts, args.seconds)
    sql = reference.sql_ledger(server, writer_counts, args.seconds)
    for writers in writer_counts:
        print(
            f"{'pgbench -N clients=' + str(writers):<34} {ceilings[writers]:>9.0f} tps", flush=True
        )
        ratio_line(f"pure-SQL ledger clients={writers}", sql[writers], ceilings[writers])
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
            orgs = asyncio.run(make_orgs(base, args.orgs))
            keys, challenges = asyncio.run(
                http_writes.make_market(base, ADMIN_TOKEN, funders=200, challenges=20)
            )
            scripts = {
                "deposits": http_writes.WRK_DEPOSITS
                % {"orgs": http_writes.quoted(orgs), "token": ADMIN_TOKEN},
                "pledges": http_writes.WRK_PLEDGES
                % {"keys": http_writes.quoted(keys), "challenges": http_writes.quoted(challenges)},
            }
            for kind, script in scripts.items():
                before = http_writes.tree_cpu_seconds(process.pid)
                run = http_writes.wrk(base, script, 1, args.seconds, Path(log_dir))
                spent = http_writes.tree_cpu_seconds(process.pid) - before
                print(
                    f"{'http ' + kind + ' cpu, 1 client':<34} "
                    f"{spent * 1000 / max(1, run['requests']):9.2f} ms of server CPU per request",
                    flush=True,
                )
                for writers in writer_counts:
                    run = http_writes.wrk(base, script, writers, args.seconds, Path(log_dir))
                    ratio_line(
                        f"http {kind} clients={writers}",
                        run["rate"],
                        ceilings[writers],
                        f"p50 {run['p50']:.1f} ms  p99 {run['p99']:.1f} ms  "
                        f"({run['errors']} errors)",
                    )
            for writers in (1, 2):
                rate = asyncio.run(
                    http_writes.batched_deposits(base, ADMIN_TOKEN, orgs, writers, args.seconds)
                )
                print(
                    f"{'http deposits/batch clients=' + str(writers):<34} {rate:>9.0f} "
                    "ledger entries/s (1,000 per request)",
                    flush=True,
                )
        finally:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--writers", default="1,8,64")
    parser.add_argument("--batches", default="1,50", help="transfers per transaction, e.g. 1,50")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--orgs", type=int, default=1000, help="organisations for deposits")
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
            http_part(url, server, writer_counts, args)
    finally:
        drop_database(server, name)


if __name__ == "__main__":
    main()
