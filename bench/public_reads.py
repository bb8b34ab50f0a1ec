"""Public reads as data grows: one challenge with 10,000 pledges on a platform whose journal
holds over 1,000,000 ledger entries (PostgreSQL).

Setup (timed and printed, not part of the figures):
  - a challenge with 10 milestones; 10,000 funders deposit and pledge directly through the
    domain services (so the rollup is written exactly as in production), 5% anonymously;
  - a three-firm swarm is awarded five milestones and paid for three;
  - 1,000,000 further deposits bulk-loaded into the journal with SQL (balanced entries and
    matching balance rows; this is bulk, not the write path, which bench/ledger.py measures);
  - the market's own entries are sealed into the Merkle log.
Then a `tributary serve` process answers sequential requests from an httpx client:

    .venv/bin/python bench/public_reads.py [--pledges 10000] [--entries 1000000] [--requests 200]
        [--keep]  # then: BENCH_SIGNING_KEY=... bench/public_reads.py --database NAME

Prints p50 / p95 / p99 latency (ms) per endpoint (the flows once as served, from the view
cached per rollup version, and once "built each time": max_funders 101, 102, ... so that no
read finds its view rendered), and the database time of the flows query
(EXPLAIN ANALYZE). Needs PostgreSQL at BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres); it creates and drops its own database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.domain.challenges import service as challenges
from app.domain.challenges import transitions
from app.domain.delivery import awards, claims, milestones, swarms, verifiers
from app.domain.identity import service as identity
from app.domain.identity.caller import ADMIN, Caller
from app.domain.money import chart
from app.domain.money import service as money
from app.domain.pledges import service as pledges
from app.ledger import Ledger
from app.ledger.seal import seal_pending
from app.ledger.signing import TreeSigner, new_seed_b64
from app.migrations import upgrade
from app.settings import Settings
from app.sql.types import utcnow
from tests.support.postgres import create_database, drop_database
from tests.support.servers import free_port, start_server, stop_server

T = TypeVar("T")
BATCH = 100
MILESTONES = 10
BACKGROUND_WALLETS = 1000


def caller(org_id: uuid.UUID, *roles: str) -> Caller:
    return Caller(kind="org", org_id=org_id, roles=frozenset(roles))


async def timed(label: str, work: Callable[[], Awaitable[T]]) -> T:
    start = time.perf_counter()
    result = await work()
    print(f"setup  {label:<44} {time.perf_counter() - start:8.1f} s", flush=True)
    return result


async def make_challenge(database: Database) -> tuple[uuid.UUID, Caller, list[uuid.UUID]]:
    async def work(session: AsyncSession) -> tuple[uuid.UUID, Caller, list[uuid.UUID]]:
        steward_org = await identity.create_org(
            session, ADMIN, name="Steward", public_name="Steward", roles=["steward"]
        )
        steward = caller(steward_org.id, "steward")
        spec = challenges.ChallengeSpec(
            title="Safe water at scale",
            description="bench",
            currency="USD",
            sdg_targets=["6.1"],
            region="KE",
            closes_at=None,
        )
        challenge = await challenges.create_challenge(session, steward, spec)
        await transitions.transition(session, steward, challenge.id, "open")
        milestone_ids = []
        for index in range(MILESTONES):
            milestone = await milestones.create_milestone(
                session,
                steward,
                challenge.id,
                milestones.MilestoneSpec(
                    title=f"Milestone {index + 1}",
                    description="",
                    metric="units",
                    unit="units",
                    target=100,
                    payout_rule="pro_rata",
                    budget_cap=10**12,
                    quorum=1,
                    due_at=utcnow().replace(year=utcnow().year + 2),
                ),
            )
            milestone_ids.append(milestone.id)
        return challenge.id, steward, milestone_ids

    return await database.transaction(work)


async def add_pledges(database: Database, challenge_id: uuid.UUID, count: int) -> None:
    for start in range(0, count, BATCH):

        async def work(session: AsyncSession, start: int = start) -> None:
            for index in range(start, min(start + BATCH, count)):
                org = await identity.create_org(
                    session,
                    ADMIN,
                    name=f"Funder {index:05d}",
                    public_name=f"Funder {index:05d}",
                    roles=["funder"],
                )
                amount = 10_000 + (index * 7919) % 990_000
                await money.deposit(
                    session, ADMIN, org.id, amount=amount, currency="USD", external_ref=f"b{index}"
                )
                spec = pledges.PledgeSpec(amount=amount, kind="direct", anonymous=index % 20 == 0)
                await pledges.create_pledge(session, caller(org.id, "funder"), challenge_id, spec)

        await database.transaction(work)


async def deliver(database: Database, steward: Caller, milestone_ids: list[uuid.UUID]) -> None:
    async def work(session: AsyncSession) -> None:
        firms = [
            await identity.create_org(
                session, ADMIN, name=f"Firm {n}", public_name=f"Firm {n}", roles=["actor"]
            )
            for n in range(3)
        ]
        verifier = await identity.create_org(
            session, ADMIN, name="Auditor", public_name="Auditor", roles=["verifier"]
        )
        lead = caller(firms[0].id, "actor")
        swarm = await swarms.create_swarm(
            session,
            lead,
            name="Swarm",
            members=[(f.id, s) for f, s in zip(firms, (5000, 3000, 2000), strict=True)],
        )
        for firm in firms[1:]:
            await swarms.accept(session, caller(firm.id, "actor"), swarm.id)
        for index, milestone_id in enumerate(milestone_ids[:5]):
            bid = await awards.submit_bid(
                session, lead, milestone_id, swarm_id=swarm.id, amount=50_000_000, plan="p"
            )
            await awards.award_bid(session, steward, bid.id)
            await verifiers.assign_verifiers(session, steward, milestone_id, [verifier.id])
            if index < 3:
                claim = await claims.submit_claim(
                    session, lead, milestone_id, reported_value=80, evidence=[]
                )
                await claims.attest(
                    session,
                    caller(verifier.id, "verifier"),
                    claim.id,
                    verdict="approve",
                    value=80 + index * 5,
                    note=None,
                )

    await database.transaction(work)


async def seal_market(database: Database, signer: TreeSigner) -> int:
    total = 0
    while sealed := await database.transaction(
        lambda session: seal_pending(session, signer, now=utcnow())
    ):
        total += sealed
    return total


async def bulk_journal(database: Database, entries: int) -> None:
    """Balanced deposits world -> one of many wallets, written with set-based SQL."""

    async def accounts(session: AsyncSession) -> tuple[uuid.UUID, list[uuid.UUID]]:
        ledger = Ledger(session)
        world = chart.world("USD")  # written already by the funders' deposits
        wallets = []
        for n in range(BACKGROUND_WALLETS):
            declared = chart.wallet(uuid.uuid5(uuid.NAMESPACE_URL, f"bg{n}"), "USD")
            opened = await ledger.open_account(
                code=declared.code,
                currency=declared.currency,
                owner_ref=declared.owner_ref,
                flags=declared.flags,
                shards=declared.shards,
            )
            wallets.append(opened.id)
        return world.id, wallets

    world, wallets = await database.transaction(accounts)
    async with database.engine.begin() as conn:
        await conn.execute(text("SET LOCAL statement_timeout = 0"))  # bulk, not a request
        await conn.execute(text("CREATE TEMP TABLE bulk_wallets (n int PRIMARY KEY, id uuid)"))
        await conn.execute(
            text("INSERT INTO bulk_wallets VALUES (:n, :id)"),
            [{"n": n, "id": wallet} for n, wallet in enumerate(wallets)],
        )
        await conn.execute(
            text(
                "CREATE TEMP TABLE bulk AS SELECT g, gen_random_uuid() AS id, "
                "100 + g % 1000 AS amount, (g % :wallets) AS w "
                "FROM generate_series(1, :entries) AS g"
            ),
            {"wallets": len(wallets), "entries": entries},
        )
        await conn.execute(
            text(
                "INSERT INTO ledger_entries (id, kind, phase, meta, fingerprint, created_at) "
                "SELECT id, 'deposit', 'posted', '{}'::json, md5(id::text) || md5(g::text), "
                "now() - make_interval(secs => :entries - g) FROM bulk"
            ),
            {"entries": entries},
        )
        await conn.execute(
            text(
                "INSERT INTO ledger_postings "
                "(entry_id, account_id, shard, currency, debit, credit) "
                "SELECT b.id, :world, 0, 'USD', b.amount, 0 FROM bulk b "
                "UNION ALL SELECT b.id, w.id, 0, 'USD', 0, b.amount "
                "FROM bulk b JOIN bulk_wallets w ON w.n = b.w"
            ),
            {"world": world},
        )
        await conn.execute(
            text(
                "UPDATE ledger_balances SET debits_posted = debits_posted + "
                "(SELECT SUM(amount) FROM bulk) WHERE account_id = :world AND shard = 0"
            ),
            {"world": world},
        )
        await conn.execute(
            text(
                "UPDATE ledger_balances lb SET credits_posted = lb.credits_posted + s.total "
                "FROM (SELECT w.id, SUM(b.amount) AS total FROM bulk b "
                "JOIN bulk_wallets w ON w.n = b.w GROUP BY w.id) s "
                "WHERE lb.account_id = s.id AND lb.shard = 0"
            )
        )
        await conn.execute(text("ANALYZE"))


def measure(client: httpx.Client, path: str, requests: int) -> list[float]:
    """Latencies of `requests` reads of `path`; a `{n}` in it is replaced by 101, 102, ...
    so that each read asks for a view the server has not rendered yet."""
    client.get(path.replace("{n}", "100")).raise_for_status()  # warm
    timings = []
    for index in range(requests):
        start = time.perf_counter()
        response = client.get(path.replace("{n}", str(101 + index)))
        timings.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return timings


def report(label: str, timings: list[float], size: int) -> None:
    ordered = sorted(timings)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    print(
        f"read   {label:<44} p50 {statistics.median(ordered):6.1f} ms  p95 {pick(0.95):6.1f} ms"
        f"  p99 {pick(0.99):6.1f} ms  ({size:,} bytes)",
        flush=True,
    )


async def explain_flows(database: Database, challenge_id: uuid.UUID) -> str:
    async with database.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT challenge_id, source, target, amount "
                "FROM flow_totals WHERE challenge_id = :c AND amount > 0"
            ),
            {"c": challenge_id},
        )
        plan = [row[0] for row in rows]
    return next((line for line in plan if "Execution Time" in line), plan[-1]).strip()


async def build(url: str, args: argparse.Namespace, signer: TreeSigner) -> dict[str, Any]:
    database = Database.from_settings(Settings(database_url=url))
    try:
        await upgrade(database.engine)
        challenge_id, steward, milestone_ids = await timed(
            "challenge and milestones", lambda: make_challenge(database)
        )
        await timed(
            f"{args.pledges:,} funders deposit and pledge",
            lambda: add_pledges(database, challenge_id, args.pledges),
        )
        await timed("award 5 milestones, pay 3", lambda: deliver(database, steward, milestone_ids))
        sealed = await timed("seal the market's entries", lambda: seal_market(database, signer))
        await timed(
            f"bulk-load {args.entries:,} journal entries",
            lambda: bulk_journal(database, args.entries),
        )
        async with database.read() as session:
            counts = (
                await session.execute(
                    text(
                        "SELECT (SELECT COUNT(*) FROM ledger_entries), "
                        "(SELECT COUNT(*) FROM pledges WHERE challenge_id = :c), "
                        "(SELECT COUNT(*) FROM flow_totals)"
                    ),
                    {"c": challenge_id},
                )
            ).one()
            entry_id = await session.scalar(
                text("SELECT entry_id FROM ledger_merkle_leaves ORDER BY leaf_index DESC LIMIT 1")
            )
        print(
            f"data   {counts[0]:,} ledger entries, {counts[1]:,} pledges on the challenge, "
            f"{counts[2]:,} rollup rows, {sealed:,} sealed leaves",
            flush=True,
        )
        explained = await explain_flows(database, challenge_id)
        return {"challenge_id": challenge_id, "entry_id": entry_id, "explain": explained}
    finally:
        await database.dispose()


async def existing(url: str) -> dict[str, Any]:
    database = Database.from_settings(Settings(database_url=url))
    try:
        async with database.read() as session:
            challenge_id = await session.scalar(
                text("SELECT id FROM challenges WHERE title = 'Safe water at scale'")
            )
            entry_id = await session.scalar(
                text("SELECT entry_id FROM ledger_merkle_leaves ORDER BY leaf_index DESC LIMIT 1")
            )
        explained = await explain_flows(database, challenge_id)
        return {"challenge_id": challenge_id, "entry_id": entry_id, "explain": explained}
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pledges", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database", help="measure a database a --keep run left (no setup)")
    args = parser.parse_args()
    server_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = args.database or f"tributary_bench_public_{uuid.uuid4().hex[:8]}"
    url = server_url.rsplit("/", 1)[0] + "/" + name if args.database else ""
    url = url or create_database(server_url, name)
    seed = os.environ.get("BENCH_SIGNING_KEY") or new_seed_b64()
    if args.keep:
        print(f"keeping database {name}; BENCH_SIGNING_KEY={seed}")
    try:
        if args.database:
            built = asyncio.run(existing(url))
        else:
            built = asyncio.run(build(url, args, TreeSigner.from_base64(seed)))
        with tempfile.TemporaryDirectory() as folder:
            server = start_server(
                url,
                Path(folder),
                port=free_port(),
                TRIBUTARY_LEDGER_SIGNING_KEY=seed,
                TRIBUTARY_DUE_WORK_INTERVAL_SECONDS="0",
            )
            try:
                cid = built["challenge_id"]
                flows = f"/v1/public/flows?challenge_id={cid}"
                proof = f"/v1/public/ledger/entries/{built['entry_id']}/proof"
                paths = {
                    "GET /v1/public/flows?challenge_id (100 funders)": flows,
                    "GET /v1/public/flows?challenge_id (built each time)": flows
                    + "&max_funders={n}",
                    "GET /v1/public/flows?challenge_id (all funders)": flows + "&max_funders=10000",
                    "GET /v1/public/flows?currency=USD": "/v1/public/flows?currency=USD",
                    "GET /v1/public/stats": "/v1/public/stats",
                    "GET /v1/challenges/{id}": f"/v1/challenges/{cid}",
                    "GET /v1/public/ledger/tree-head": "/v1/public/ledger/tree-head",
                    "GET /v1/public/ledger/entries/{id}/proof": proof,
                    "GET /challenges/{id} (dashboard HTML)": f"/challenges/{cid}",
                    "GET / (dashboard HTML)": "/",
                }
                with httpx.Client(base_url=server.url, timeout=30) as client:
                    for label, path in paths.items():
                        timings = measure(client, path, args.requests)
                        size = len(client.get(path.replace("{n}", "100")).content)
                        report(label, timings, size)
            finally:
                stop_server(server)
        print(f"db     flows query for the challenge: {built['explain']}")
    finally:
        if not (args.keep or args.database):
            drop_database(server_url, name)


if __name__ == "__main__":
    main()
