"""Run chosen due-work jobs once, in this OS process, and print the report as JSON.

    python -m tests.support.due_worker <database url> <moment iso> <job> [<job> ...]

Tests start several of these at once against one PostgreSQL database, as several
`tributary worker` processes would run in production.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from datetime import datetime

from app.db import Database
from app.domain.due_work import jobs_for, run_due_work
from app.settings import Settings


async def _run(url: str, moment: datetime, names: list[str]) -> dict[str, object]:
    database = Database.from_settings(Settings(database_url=url))
    try:
        jobs = {name: job for name, job in jobs_for(None).items() if name in names}
        return asdict(await run_due_work(database, now=moment, jobs=jobs))
    finally:
        await database.dispose()


def main() -> None:
    url, moment, *names = sys.argv[1:]
    report = asyncio.run(_run(url, datetime.fromisoformat(moment), names))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
