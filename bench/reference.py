"""The machine's own ceilings, measured in the same run as the app so figures compare
across noisy machines: pgbench's simple-update workload (`pgbench -N`, scale 10), and a
pure-SQL ledger of the kind teams pick instead of building one (one PL/pgSQL function per
transfer: two balance rows updated under a non-negative check and a journal row, called
over asyncpg). Used by bench/ledger.py.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import re
import subprocess
import time
import uuid

import asyncpg

from tests.support.postgres import create_database, drop_database

SQL_LEDGER = """
CREATE TABLE ref_accounts (id int PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));
CREATE TABLE ref_transfers (id uuid PRIMARY KEY, debit int NOT NULL, credit int NOT NULL,
                            amount bigint NOT NULL, created_at timestamptz NOT NULL);
CREATE FUNCTION ref_transfer(p_id uuid, p_debit int, p_credit int, p_amount bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ref_transfers VALUES (p_id, p_debit, p_credit, p_amount, now());
    IF p_debit < p_credit THEN
        UPDATE ref_accounts SET balance = balance - p_amount WHERE id = p_debit;
        UPDATE ref_accounts SET balance = balance + p_amount WHERE id = p_credit;
    ELSE
        UPDATE ref_accounts SET balance = balance + p_amount WHERE id = p_credit;
        UPDATE ref_accounts SET balance = balance - p_amount WHERE id = p_debit;
    END IF;
END $$;
"""
ACCOUNTS = 10_000


def pgbench(server_url: str, clients: list[int], seconds: float) -> dict[int, float]:
    """Transactions per second of `pgbench -N` (scale 10) at each client count."""
    name = f"tributary_pgbench_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    try:
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", url], check=True, capture_output=True)
        found = {}
        for count in clients:
            result = subprocess.run(
                [
                    "pgbench",
                    "-N",
                    "-n",
                    "-c",
                    str(count),
                    "-j",
                    str(min(2, count)),
                    "-T",
                    str(max(1, round(seconds))),
                    url,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            match = re.search(r"tps = ([\d.]+)", result.stdout)
            assert match, result.stdout
            found[count] = float(match.group(1))
        return found
    finally:
        drop_database(server_url, name)


async def _sql_writers(url: str, writers: int, seconds: float) -> int:
    pool = await asyncpg.create_pool(
        url.replace("+asyncpg", ""), min_size=writers, max_size=writers
    )
    done = 0
    deadline = time.perf_counter() + seconds

    async def writer() -> None:
        nonlocal done
        rng = random.Random()
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                debit, credit = rng.sample(range(ACCOUNTS), 2)
                await conn.execute(
                    "SELECT ref_transfer($1, $2, $3, 1)", uuid.uuid4(), debit, credit
                )
                done += 1

    await asyncio.gather(*(writer() for _ in range(writers)))
    await pool.close()
    return done


def _sql_child(args: tuple[str, int, float]) -> int:
    return asyncio.run(_sql_writers(*args))


def sql_ledger(server_url: str, clients: list[int], seconds: float) -> dict[int, float]:
    """Transfers per second of the pure-SQL ledger, writers spread over two processes."""
    name = f"tributary_sqlledger_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)

    async def setup() -> None:
        conn = await asyncpg.connect(url)
        await conn.execute(SQL_LEDGER)
        await conn.execute(
            "INSERT INTO ref_accounts SELECT g, 1000000000 FROM generate_series(0, $1) g",
            ACCOUNTS,
        )
        await conn.close()

    try:
        asyncio.run(setup())
        found = {}
        context = multiprocessing.get_context("spawn")
        for count in clients:
            split = [n for n in (count - count // 2, count // 2) if n]
            with context.Pool(len(split)) as pool:
                total = sum(pool.map(_sql_child, [(url, n, seconds) for n in split]))
            found[count] = total / seconds
        return found
    finally:
        drop_database(server_url, name)
