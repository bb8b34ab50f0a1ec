"""Idempotency keys: one row per (caller, key), written in the same transaction as the work
it answers for, together with that answer (app/domain/commit_bundle.py).

A key exists exactly when its request committed: a request that failed or whose server
died leaves nothing behind, so its retry runs at once. A retry of a committed request finds
the row and gets the stored answer; the same key with another request is 422
`idempotency_key_reused`. Two requests racing with one key: the second one's insert of the
key waits for the first to end (the unique index), then replays the first's answer or, if
the first rolled back, goes on. Keys are kept 24 hours, then purged by due work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import Unprocessable
from app.domain.idempotency.models import IdempotencyKey

KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def validate_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in key):
        raise Unprocessable(
            "Idempotency-Key must be 1-255 printable ASCII characters.",
            code="invalid_idempotency_key",
        )
    return key


def reused(key: str) -> Unprocessable:
    return Unprocessable(
        f"Idempotency-Key {key!r} was already used for a different request.",
        code="idempotency_key_reused",
    )


async def stored(
    session: AsyncSession, *, scope: str, key: str, now: datetime
) -> IdempotencyKey | None:
    """The committed answer under this key, if any and not expired (an expired row that due
    work has not purged yet is removed here, in the caller's transaction)."""
    row = await session.get(IdempotencyKey, (scope, key), populate_existing=True)
    if row is None:
        return None
    if row.expires_at <= now:
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.scope == scope,
                IdempotencyKey.key == key,
                IdempotencyKey.expires_at <= now,
            )
        )
        return None
    return row


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
