"""The order in which a unit of work takes row locks, and the check that it keeps to it.

    challenge  ->  its milestones  ->  their bids  ->  its pledges  ->  ledger accounts

Why. A challenge's pledges settle against each other (thresholds count each other, matches
draw on every new contribution), its milestones draw on its pledges (awards) and give back
to them (payouts, failures), and due work ends both (expiry, lateness). So the challenge's
row lock is the lock of everything below it: every path that changes a challenge's
milestones, bids, pledges or the money in their accounts first holds the challenge's lock,
and only then reads what it will act on. Then no path can read a pledge's status or balance
and act on it while another changes it (the race that once stranded escrow returning to a
pledge that expired meanwhile), and the rows below a challenge never take part in a lock
cycle, because only the holder of the challenge lock ever locks them. Below the challenge,
each use case locks down the tree in the order above; a unit of work that runs several use
cases on one challenge may come back up (a second award after the first one's pledges), which
is safe for the same reason. The ledger locks its balance rows last, in account-id order.

A matching round comes before its challenges: closing one locks the round's row, then its
challenges in ascending id order (store.rounds); nothing locks a round while holding a
challenge.

Across challenges (a pledge rolling over from A into B): challenge locks are taken in
ascending id order, or without waiting (SKIP LOCKED, as due work does), so two transactions
never each hold one challenge and wait for the other's.

Every repository in this package reports the locks it takes here, and this module refuses
(with `LockOrderBroken`, a bug rather than a user error) a challenge lock waited for out of
id order and any row below a challenge locked without the challenge's lock, on PostgreSQL
and on SQLite alike, so a path that forgets the discipline fails its tests.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVarTuple

from sqlalchemy import Result, Select
from sqlalchemy.ext.asyncio import AsyncSession

_STATE_KEY = "tributary_locks"


class Level(enum.IntEnum):
    """Rows below a challenge, in the order they are locked."""

    MILESTONE = 1
    BID = 2
    PLEDGE = 3


class LockOrderBroken(AssertionError):
    """A unit of work took a row lock out of the documented order: a bug in the caller."""


@dataclass
class _Held:
    challenges: set[uuid.UUID] = field(default_factory=set)


def _held(session: AsyncSession) -> _Held:
    state = session.info.get(_STATE_KEY)
    if state is None:
        state = session.info[_STATE_KEY] = _Held()
    assert isinstance(state, _Held)
    return state


def took_challenges(session: AsyncSession, ids: Iterable[uuid.UUID], *, waited: bool) -> None:
    """Record challenge locks. Waiting ones must come in ascending id order after every
    challenge already held; ones taken without waiting (SKIP LOCKED) may come in any order,
    since they can never wait in a cycle."""
    held = _held(session)
    new = [cid for cid in ids if cid not in held.challenges]
    if waited and new and (new != sorted(new) or min(new) < max(held.challenges, default=min(new))):
        raise LockOrderBroken(
            f"challenge locks {new} requested while holding {sorted(held.challenges)}: "
            "challenges are locked in ascending id order"
        )
    held.challenges.update(new)


def holds_challenge(session: AsyncSession, challenge_id: uuid.UUID) -> bool:
    return challenge_id in _held(session).challenges


def took(session: AsyncSession, level: Level, challenge_id: uuid.UUID) -> None:
    """Record locks on rows below `challenge_id` at `level`: the challenge must be locked
    already (its lock is what makes the rows below it safe to lock, in any number)."""
    if challenge_id not in _held(session).challenges:
        raise LockOrderBroken(
            f"{level.name.lower()} rows of challenge {challenge_id} locked without the "
            "challenge's lock"
        )


def forget(session: AsyncSession) -> None:
    """A new transaction on the same session starts with no locks (commit released them)."""
    session.info.pop(_STATE_KEY, None)


_Row = TypeVarTuple("_Row")


async def reread_under_lock(session: AsyncSession, query: Select[*_Row]) -> Result[*_Row]:
    """Run a locking re-read (SELECT ... FOR UPDATE) that refreshes objects already in the
    session from the rows as locked, after flushing what the unit of work changed so far.

    Sessions do not autoflush, and `populate_existing` overwrites loaded objects: without the
    flush a re-read would silently discard changes not yet written (a match pledge's draw,
    discarded by settling's re-read of the live pledges, once left its row naming a hold the
    ledger had already posted). Flushing first makes the re-read see them instead."""
    await session.flush()
    assert not session.new, "a flush leaves no new object unwritten"
    assert not session.dirty, "a flush leaves no changed object unwritten"
    return await session.execute(query.execution_options(populate_existing=True))
