"""Run one unit of work in one transaction, retrying the whole of it on transient conflicts.

Many processes write at once. PostgreSQL resolves some of their conflicts by aborting a
transaction (deadlock, serialization failure); SQLite answers "database is locked" when its
busy timeout runs out. Those are safe to retry *from the start with a fresh session*, never
from the middle, so the retry wraps the whole use case. The bound keeps a pathological storm
from spinning forever.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

T = TypeVar("T")

# serialization_failure, deadlock_detected, and unique_violation: a concurrent writer won a
# race to insert the same row; the use case, re-run, finds that row and answers from it.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "23505"})
DEFAULT_MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 0.002
MAX_BACKOFF_SECONDS = 0.2

# Set on a connection by `run_in_transaction`: SQLite takes its write lock at BEGIN
# (BEGIN IMMEDIATE) so two writers never deadlock upgrading a read lock.
WRITE_OPTION = "tributary_write"


class TransientError(Exception):
    """The unit of work met a state that a fresh attempt will not: retry it from the start."""


class CommitOutcomeUnknown(Exception):
    """The connection failed while COMMIT was in flight: the transaction may or may not have
    committed. Never retried blindly; the caller must find out (an idempotency key does)."""


def sqlstate_of(error: BaseException) -> str | None:
    """The SQLSTATE of a driver error wrapped by SQLAlchemy, if the driver reports one."""
    original = getattr(error, "orig", None)
    for candidate in (original, getattr(original, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def is_retryable(error: BaseException) -> bool:
    """True for conflicts that a fresh attempt of the same unit of work may not meet."""
    if not isinstance(error, DBAPIError):
        return False
    if sqlstate_of(error) in RETRYABLE_SQLSTATES:
        return True
    message = str(getattr(error, "orig", error))
    return "database is locked" in message or "UNIQUE constraint failed" in message


async def _begin(session: AsyncSession, write: bool) -> None:
    if session.get_bind().dialect.name == "sqlite":
        options: dict[str, Any] = {WRITE_OPTION: write}
        await session.connection(execution_options=options)


async def run_in_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    write: bool = True,
    before_commit: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> T:
    """Run `work` in a new session and transaction, commit, and return its result.

    The transaction commits before this returns, so a caller that answers an HTTP request
    afterwards never reports success for a write that did not commit. `before_commit` runs
    last inside the transaction (it writes what the work queued, such as its events).
    Retryable conflicts start over with a new session after a jittered exponential backoff.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    for attempt in range(1, max_attempts + 1):
        committing = False
        try:
            async with sessionmaker() as session:
                await _begin(session, write)
                result = await work(session)
                if before_commit is not None:
                    await before_commit(session)
                committing = True
                await session.commit()
                return result
        except TransientError:
            if attempt == max_attempts:
                raise
        except DBAPIError as error:
            # A connection lost before COMMIT was sent leaves nothing behind: start over. One
            # lost during COMMIT has an unknown outcome and must be reported, not repeated.
            lost_before_commit = error.connection_invalidated and not committing
            if committing and not is_retryable(error):
                raise CommitOutcomeUnknown(str(error.orig or error)) from error
            if attempt == max_attempts or not (is_retryable(error) or lost_before_commit):
                raise
            ceiling = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2**attempt)
            await asyncio.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not crypto
    raise AssertionError("unreachable: the loop returns or raises")
