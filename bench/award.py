"""A big award and its payout: one milestone drawn from 10,000 pledges, then paid.

Both hold the challenge's row lock from start to commit, so their duration is how long
every other write to the challenge waits. Setup (printed, not part of the figures): a
challenge whose 10,000 funders each deposit and pledge directly through the domain services;
a three-firm swarm. Then, each in its own transaction and timed from begin to commit:
the award (escrow drawn pro rata from every pledge) and the payout (a claim attested by
the quorum: escrow to the swarm's members, the rest back to the pledges).

    .venv/bin/python bench/award.py [--pledges 10000] [--profile]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
it creates and drops its own database. --profile prints the award's top functions (cProfile).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from public_reads import add_pledges, caller, make_challenge, timed

from app.db import Database
from app.domain.delivery import awards, claims, swarms, verifiers
from app.domain.identity import service as identity
from app.domain.identity.caller import ADMIN
from app.migrations import upgrade
from app.settings import Settings
from tests.support.postgres import create_database, drop_database


async def team(database: Database) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A swarm of three firms (lead first) and a verifier: (swarm, lead org, verifier org)."""

    async def work(session):  # type: ignore[no-untyped-def]
        firms = [
            await identity.create_org(
                session, ADMIN, name=f"Firm {n}", public_name=f"Firm {n}", roles=["actor"]
            )
            for n in range(3)
        ]
        verifier = await identity.create_org(
            session, ADMIN, name="Auditor", public_name="Auditor", roles=["verifier"]
        )
        swarm = await swarms.create_swarm(
            session,
            caller(firms[0].id, "actor"),
            name="Swarm",
            members=[(f.id, s) for f, s in zip(firms, (5000, 3000, 2000), strict=True)],
        )
        for firm in firms[1:]:
            await swarms.accept(session, caller(firm.id, "actor"), swarm.id)
        return swarm.id, firms[0].id, verifier.id

    return await database.transaction(work)


async def run(url: str, args: argparse.Namespace) -> None:
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
        swarm_id, lead_id, verifier_id = await team(database)
        lead = caller(lead_id, "actor")
        milestone_id = milestone_ids[0]

        async def bid(session):  # type: ignore[no-untyped-def]
            made = await awards.submit_bid(
                session, lead, milestone_id, swarm_id=swarm_id, amount=500_000_000, plan="p"
            )
            await verifiers.assign_verifiers(session, steward, milestone_id, [verifier_id])
            return made.id

        bid_id = await database.transaction(bid)
        profiler = cProfile.Profile() if args.profile else None
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        await database.transaction(lambda s: awards.award_bid(s, steward, bid_id))
        if profiler:
            profiler.disable()
        award_seconds = time.perf_counter() - start
        claim = await database.transaction(
            lambda s: claims.submit_claim(s, lead, milestone_id, reported_value=80, evidence=[])
        )
        start = time.perf_counter()
        await database.transaction(
            lambda s: claims.attest(
                s, caller(verifier_id, "verifier"), claim.id, verdict="approve", value=80, note=None
            )
        )
        payout_seconds = time.perf_counter() - start
        print(f"award  over {args.pledges:,} pledges: {award_seconds * 1000:8.0f} ms", flush=True)
        print(f"payout over {args.pledges:,} pledges: {payout_seconds * 1000:8.0f} ms", flush=True)
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pledges", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    server_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"tributary_bench_award_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    try:
        asyncio.run(run(url, args))
    finally:
        drop_database(server_url, name)


if __name__ == "__main__":
    main()
