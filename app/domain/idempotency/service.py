"""The life of an idempotency key, safe across many processes.

1. `claim` (its own short transaction) inserts the key as in_progress with a fresh lock
   token, or finds it: same request completed → replay; still running → in use; another
   request under the same key → reused. A key whose owner died (its lease ran out without
   completing) is taken over.
2. The request's own unit of work first `lock`s the row (FOR UPDATE on PostgreSQL) and
   checks it still owns it, then does its work and `complete`s the row with the response
   in the same transaction: the response is stored if and only if the work committed.
3. If the work failed with an error that must not be replayed, `release` deletes the row so
   a retry runs afresh. Due work `purge_expired` removes keys older than 24 hours.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import Conflict, Unprocessable
from app.domain.idempotency.models import IdempotencyKey
from app.sql.dialect import insert_ignoring_conflicts

KEY_TTL = timedelta(hours=24)
LEASE = timedelta(seconds=60)  # longer than the statement timeout of one unit of work
# A request still running almost always finishes within a second; one whose server died
# blocks its key until the lease runs out, and retrying every second until then is cheap.
IN_USE_RETRY_AFTER_SECONDS = 1
MAX_KEY_LENGTH = 255
IDEMPOTENCY_TABLE: Table = IdempotencyKey.__table__  # type: ignore[assignment]


class Outcome(enum.Enum):
    PROCEED = "proceed"
    REPLAY = "replay"


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    token: uuid.UUID | None = None
    status: int | None = None
    body: str | None = None


def validate_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in key):
        raise Unprocessable(
            "Idempotency-Key must be 1-255 printable ASCII characters.",
            code="invalid_idempotency_key",
        )
    return key


class KeyInUse(Conflict):
    """Another request holds this key right now: 409 with `Retry-After`."""

    retry_after_seconds = IN_USE_RETRY_AFTER_SECONDS

    def __init__(self, key: str) -> None:
        super().__init__(
            f"A request with Idempotency-Key {key!r} is still being processed; retry in "
            f"{IN_USE_RETRY_AFTER_SECONDS} s.",
            code="idempotency_key_in_use",
        )


def _reused(key: str) -> Unprocessable:
    return Unprocessable(
        f"Idempotency-Key {key!r} was already used for a different request.",
        code="idempotency_key_reused",
    )


async def claim(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    now: datetime,
    lease: timedelta = LEASE,
) -> Claim:
    token = uuid.uuid4()
    fresh = {
        "fingerprint": fingerprint,
        "state": "in_progress",
        "lock_token": token,
        "locked_at": now,
        "response_status": None,
        "response_body": None,
        "created_at": now,
        "expires_at": now + KEY_TTL,
    }
    inserted = await session.execute(
        insert_ignoring_conflicts(
            session, IDEMPOTENCY_TABLE, {"scope": scope, "key": key, **fresh}
        ).returning(IdempotencyKey.key)
    )
    if inserted.scalar_one_or_none() is not None:
        return Claim(Outcome.PROCEED, token=token)
    row = await session.get(IdempotencyKey, (scope, key), populate_existing=True)
    if row is None:  # purged between the insert and the read
        raise KeyInUse(key)
    if row.expires_at <= now:
        return await _take_over(session, row, fresh, token, key)
    if row.fingerprint != fingerprint:
        raise _reused(key)
    if row.state == "completed":
        return Claim(Outcome.REPLAY, status=row.response_status, body=row.response_body)
    if row.locked_at > now - lease:
        raise KeyInUse(key)
    return await _take_over(session, row, {"lock_token": token, "locked_at": now}, token, key)


async def _take_over(
    session: AsyncSession,
    row: IdempotencyKey,
    values: dict[str, object],
    token: uuid.UUID,
    key: str,
) -> Claim:
    """Replace an expired key, or one whose owner died, if nobody else did first."""
    taken = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.scope == row.scope,
            IdempotencyKey.key == row.key,
            IdempotencyKey.lock_token == row.lock_token,
            IdempotencyKey.state == row.state,
        )
        .values(**values)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise KeyInUse(key)
    return Claim(Outcome.PROCEED, token=token)


async def lock(session: AsyncSession, *, scope: str, key: str, token: uuid.UUID) -> None:
    """Inside the work's transaction: hold the row, and make sure we still own it."""
    owned = await session.scalar(
        select(IdempotencyKey.key)
        .where(
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
            IdempotencyKey.lock_token == token,
            IdempotencyKey.state == "in_progress",
        )
        .with_for_update()
    )
    if owned is None:
        raise KeyInUse(key)


async def complete(
    session: AsyncSession, *, scope: str, key: str, token: uuid.UUID, status: int, body: str
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
            IdempotencyKey.lock_token == token,
        )
        .values(state="completed", response_status=status, response_body=body)
    )


async def release(session: AsyncSession, *, scope: str, key: str, token: uuid.UUID) -> None:
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
            IdempotencyKey.lock_token == token,
            IdempotencyKey.state == "in_progress",
        )
    )


async def purge_expired(session: AsyncSession, *, now: datetime, limit: int = 1000) -> int:
    """Delete keys past their 24 hours (due work); bounded per call."""
    expired = select(IdempotencyKey.scope, IdempotencyKey.key).where(
        IdempotencyKey.expires_at <= now
    )
    rows = (await session.execute(expired.limit(limit))).all()
    for scope, key in rows:
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.scope == scope,
                IdempotencyKey.key == key,
                IdempotencyKey.expires_at <= now,
            )
        )
    return len(rows)
