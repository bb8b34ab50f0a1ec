"""Work that falls due with time: found by indexed queries, safe in any number of processes.

Each job runs in its own short transaction on a bounded batch and claims its rows with
FOR UPDATE SKIP LOCKED (PostgreSQL) or derives its ledger entry ids from what it processes,
so two processes running the same job at once never do anything twice. `run_due_work` is
idempotent: calling it when nothing is due changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.delivery import claims as delivery_claims
from app.domain.idempotency import service as idempotency
from app.domain.pledges import service as pledges
from app.ledger import Ledger
from app.ledger.signing import TreeSigner
from app.ledger.sqltypes import utcnow

T = TypeVar("T")
log = logging.getLogger(__name__)

BATCH_SIZE = 100


class Transactor(Protocol):
    async def transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T: ...


Job = Callable[[AsyncSession, datetime], Awaitable[int]]


async def _void_timed_out_holds(session: AsyncSession, now: datetime) -> int:
    return await Ledger(session).void_expired(now=now, limit=BATCH_SIZE)


async def _purge_idempotency_keys(session: AsyncSession, now: datetime) -> int:
    return await idempotency.purge_expired(session, now=now, limit=BATCH_SIZE * 10)


def jobs_for(signer: TreeSigner | None) -> dict[str, Job]:
    """Every due-work job; sealing only when a signing key is configured."""
    jobs: dict[str, Job] = {
        "pending_timeouts": _void_timed_out_holds,
        "idempotency_expiry": _purge_idempotency_keys,
        "threshold_deadlines": pledges.release_missed_thresholds,
        "pledge_expiry": pledges.expire_pledges,
        "milestone_due_dates": delivery_claims.fail_overdue_milestones,
    }
    if signer is not None:
        from app.ledger.seal import seal_pending  # optional: only with a signing key

        async def seal(session: AsyncSession, now: datetime) -> int:
            return await seal_pending(session, signer, now=now)

        jobs["sealing"] = seal
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
            report.processed[name] = await database.transaction(
                lambda session, job=job: job(session, moment)  # type: ignore[misc]
            )
        except Exception:
            log.exception("due work job %s failed", name)
            report.failed.append(name)
    return report
