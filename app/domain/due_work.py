"""Work that falls due with time: found by indexed queries, safe in any number of processes.

The market's due items (threshold deadlines, pledge expiry, milestone due dates) are each
processed in their own short transaction, claiming their challenge with SKIP LOCKED
(due_items). The ledger's own jobs (hold timeouts, sealing) and the idempotency purge run
on a bounded batch in one transaction, deriving their entry ids from what they process. So
two processes running the same job at once never do anything twice, and `run_due_work` is
idempotent: calling it when nothing is due changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.delivery import milestones, window
from app.domain.due_items import Transactor
from app.domain.idempotency import service as idempotency
from app.domain.pledges import due as pledges_due
from app.domain.rounds import closing as rounds_closing
from app.ledger import Ledger, TreeSigner
from app.sql.types import utcnow

log = logging.getLogger(__name__)

BATCH_SIZE = 100

Job = Callable[[Transactor, datetime], Awaitable[int]]


def _batch(work: Callable[[AsyncSession, datetime], Awaitable[int]]) -> Job:
    """A job that handles one bounded batch in one transaction."""

    async def job(database: Transactor, now: datetime) -> int:
        return await database.transaction(lambda session: work(session, now))

    return job


async def _void_timed_out_holds(session: AsyncSession, now: datetime) -> int:
    return await Ledger(session).void_expired(now=now, limit=BATCH_SIZE)


async def _purge_idempotency_keys(session: AsyncSession, now: datetime) -> int:
    return await idempotency.purge_expired(session, now=now, limit=BATCH_SIZE * 10)


def jobs_for(signer: TreeSigner | None) -> dict[str, Job]:
    """Every due-work job; sealing only when a signing key is configured."""
    jobs: dict[str, Job] = {
        "pending_timeouts": _batch(_void_timed_out_holds),
        "idempotency_expiry": _batch(_purge_idempotency_keys),
        "threshold_deadlines": pledges_due.release_missed_thresholds,
        "pledge_expiry": pledges_due.expire_pledges,
        "milestone_due_dates": milestones.fail_overdue_milestones,
        "round_closes": rounds_closing.close_due_rounds,
        "dispute_windows": window.pay_due_milestones,
    }
    if signer is not None:

        async def seal(session: AsyncSession, now: datetime) -> int:
            return await Ledger(session).seal_pending(signer, now=now)

        jobs["sealing"] = _batch(seal)
    return jobs


@dataclass
class DueWorkReport:
    processed: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


async def run_due_work(
    database: Transactor,
    *,
    now: datetime | None = None,
    signer: TreeSigner | None = None,
    jobs: dict[str, Job] | None = None,
) -> DueWorkReport:
    """Run every job once on what is due at `now`; one failing job does not stop the rest."""
    moment = now or utcnow()
    report = DueWorkReport()
    for name, job in (jobs or jobs_for(signer)).items():
        try:
            report.processed[name] = await job(database, moment)
        except Exception:
            log.exception("due work job %s failed", name)
            report.failed.append(name)
    return report
