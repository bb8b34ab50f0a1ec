"""Due work one item at a time: each item in its own short transaction.

A due item (a pledge past its deadline, a milestone past its due date) is claimed by taking
its challenge's lock without waiting (SKIP LOCKED): a challenge that another process is
settling is left for the next round, so two processes never process one item at once and
never wait on each other. Each item commits on its own, so a long batch never holds many
challenges at once, and one item that fails does not undo the others.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
log = logging.getLogger(__name__)

DUE_BATCH = 50


class Transactor(Protocol):
    """Runs a unit of work in its own committed transaction (app.db.Database)."""

    async def transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T: ...


class DueItemsFailed(RuntimeError):
    """Some due items failed (each was rolled back and is logged); the rest committed."""


async def process_each(
    database: Transactor,
    find: Callable[[AsyncSession], Awaitable[Sequence[uuid.UUID]]],
    process: Callable[[AsyncSession, uuid.UUID], Awaitable[bool]],
) -> int:
    """Find due item ids, then `process` each in its own transaction; it answers whether it
    acted (False: gone, no longer due, or its challenge is busy). Returns how many acted."""
    due = await database.transaction(find)
    done, failed = 0, []
    for item_id in due:
        try:
            acted = await database.transaction(
                lambda session, item_id=item_id: process(session, item_id)  # type: ignore[misc]
            )
        except Exception:
            log.exception("due item %s failed", item_id)
            failed.append(item_id)
            continue
        done += int(acted)
    if failed:
        raise DueItemsFailed(f"{len(failed)} due items failed: {failed}")
    return done
