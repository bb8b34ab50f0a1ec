"""What every unit of work writes last, together: its events (with their recipients and a
delivery per matching webhook), the request's audit record, and its idempotency key with the
answer it gave.

On PostgreSQL all of it is one statement (data-modifying CTEs), so the outbox, the audit
trail and idempotency cost one round trip per write request; on SQLite, a few cheap local
statements. It runs just before commit (app.db.Database.transaction), inside the work's
transaction: it commits with the change or not at all. Writing the idempotency key last is
what makes a concurrent duplicate safe: its insert waits on the unique index until the first
request ends, then finds the key taken (`KeyTaken`: the duplicate rolls back and replays the
stored answer) or free (the first rolled back: it goes on).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events.models import Delivery, Event, EventRecipient, Webhook
from app.domain.events.publish import ALL_TYPES, PendingEvent, take_pending
from app.domain.idempotency.models import IdempotencyKey
from app.domain.identity.models import AuditRecord
from app.sql.dialect import insert_ignoring_conflicts, is_postgres
from app.sql.types import utcnow

_AUDIT_KEY = "tributary_audit"
_KEY_KEY = "tributary_idempotency"


@dataclass(frozen=True)
class AuditRow:
    actor: str  # admin | key | anonymous
    org_id: uuid.UUID | None
    key_id: uuid.UUID | None
    method: str
    path: str
    status: int
    request_id: str


@dataclass(frozen=True)
class KeyRow:
    scope: str
    key: str
    fingerprint: str
    status: int
    body: str
    expires_at: datetime


class KeyTaken(Exception):
    """Another request committed this idempotency key first: roll back and replay it."""


def attach_audit(session: AsyncSession, row: AuditRow) -> None:
    session.info[_AUDIT_KEY] = row


def attach_key(session: AsyncSession, row: KeyRow) -> None:
    session.info[_KEY_KEY] = row


async def flush(session: AsyncSession) -> None:
    """Write what the unit of work queued; KeyTaken if its idempotency key was taken."""
    events = take_pending(session)
    audit: AuditRow | None = session.info.pop(_AUDIT_KEY, None)
    key: KeyRow | None = session.info.pop(_KEY_KEY, None)
    if not events and audit is None and key is None:
        return
    now = utcnow()
    if is_postgres(session):
        written = await _flush_postgres(session, events, audit, key, now)
    else:
        written = await _flush_portable(session, events, audit, key, now)
    if key is not None and not written:
        raise KeyTaken(key.key)


_BUNDLE = text(
    """
WITH ev AS (
    INSERT INTO events (id, txid, type, public, data, created_at)
    SELECT e.id, pg_current_xact_id()::text::bigint, e.type, e.public, e.data, e.created
      FROM unnest(CAST(:e_id AS uuid[]), CAST(:e_type AS text[]), CAST(:e_public AS boolean[]),
                  CAST(:e_data AS json[]), CAST(:e_created AS timestamptz[]))
           WITH ORDINALITY AS e(id, type, public, data, created, n)
     ORDER BY e.n
    RETURNING seq, id, type, public
), who AS (
    SELECT r.event, r.org
      FROM unnest(CAST(:r_event AS uuid[]), CAST(:r_org AS uuid[])) AS r(event, org)
), rc AS (
    INSERT INTO event_recipients (event_seq, org_id)
    SELECT ev.seq, who.org FROM ev JOIN who ON who.event = ev.id
    RETURNING event_seq
), dl AS (
    INSERT INTO webhook_deliveries
           (id, webhook_id, event_seq, status, attempts, next_attempt_at, created_at)
    SELECT gen_random_uuid(), w.id, ev.seq, 'pending', 0, CAST(:now AS timestamptz),
           CAST(:now AS timestamptz)
      FROM ev JOIN webhooks w ON w.status = 'active'
       AND (ev.public OR w.org_id IN (SELECT who.org FROM who WHERE who.event = ev.id))
       AND (w.event_types::jsonb ? ev.type OR w.event_types::jsonb ? CAST(:all_types AS text))
     ORDER BY ev.seq, w.id
    RETURNING id
), au AS (
    INSERT INTO audit_log
           (occurred_at, actor, org_id, key_id, method, path, status, request_id)
    SELECT CAST(:now AS timestamptz), CAST(:a_actor AS text), CAST(:a_org AS uuid),
           CAST(:a_key AS uuid), CAST(:a_method AS text), CAST(:a_path AS text),
           CAST(:a_status AS integer), CAST(:a_request AS text)
     WHERE CAST(:has_audit AS boolean)
    RETURNING id
), ik AS (
    INSERT INTO idempotency_keys
           (scope, key, fingerprint, response_status, response_body, created_at, expires_at)
    SELECT CAST(:k_scope AS text), CAST(:k_key AS text), CAST(:k_fingerprint AS text),
           CAST(:k_status AS integer), CAST(:k_body AS text), CAST(:now AS timestamptz),
           CAST(:k_expires AS timestamptz)
     WHERE CAST(:has_key AS boolean)
    ON CONFLICT DO NOTHING
    RETURNING key
)
SELECT (SELECT count(*) FROM ik)
"""
)


async def _flush_postgres(
    session: AsyncSession,
    events: list[PendingEvent],
    audit: AuditRow | None,
    key: KeyRow | None,
    now: datetime,
) -> bool:
    params: dict[str, Any] = {
        "e_id": [e.id for e in events],
        "e_type": [e.type for e in events],
        "e_public": [e.public for e in events],
        "e_data": [json.dumps(e.data) for e in events],
        "e_created": [e.created_at for e in events],
        "r_event": [e.id for e in events for _ in e.recipients],
        "r_org": [org for e in events for org in e.recipients],
        "now": now,
        "all_types": ALL_TYPES,
        "has_audit": audit is not None,
        "a_actor": audit.actor if audit else None,
        "a_org": audit.org_id if audit else None,
        "a_key": audit.key_id if audit else None,
        "a_method": audit.method if audit else None,
        "a_path": audit.path if audit else None,
        "a_status": audit.status if audit else None,
        "a_request": audit.request_id if audit else None,
        "has_key": key is not None,
        "k_scope": key.scope if key else None,
        "k_key": key.key if key else None,
        "k_fingerprint": key.fingerprint if key else None,
        "k_status": key.status if key else None,
        "k_body": key.body if key else None,
        "k_expires": key.expires_at if key else None,
    }
    written = await session.scalar(_BUNDLE, params)
    return bool(written)


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def _flush_portable(
    session: AsyncSession,
    events: list[PendingEvent],
    audit: AuditRow | None,
    key: KeyRow | None,
    now: datetime,
) -> bool:
    """The same rows in a few statements (SQLite: one writer at a time, local calls)."""
    await _write_events(session, events, now)
    if audit is not None:
        await session.execute(insert(AuditRecord).values(occurred_at=now, **audit.__dict__))
    if key is None:
        return True
    written = await session.execute(
        insert_ignoring_conflicts(
            session,
            _table(IdempotencyKey),
            {
                "scope": key.scope,
                "key": key.key,
                "fingerprint": key.fingerprint,
                "response_status": key.status,
                "response_body": key.body,
                "created_at": now,
                "expires_at": key.expires_at,
            },
        ).returning(IdempotencyKey.key)
    )
    return written.scalar_one_or_none() is not None


async def _write_events(session: AsyncSession, events: list[PendingEvent], now: datetime) -> None:
    if not events:
        return
    hooks = list(
        await session.execute(
            select(Webhook.id, Webhook.org_id, Webhook.event_types).where(
                Webhook.status == "active"
            )
        )
    )
    for event in events:
        seq = await session.scalar(
            insert(Event)
            .values(
                id=event.id,
                txid=0,
                type=event.type,
                public=event.public,
                data=event.data,
                created_at=event.created_at,
            )
            .returning(Event.seq)
        )
        if event.recipients:
            await session.execute(
                insert(EventRecipient),
                [{"event_seq": seq, "org_id": org} for org in event.recipients],
            )
        wanted = sorted(
            hook_id
            for hook_id, org_id, types in hooks
            if (event.public or org_id in event.recipients)
            and (event.type in types or ALL_TYPES in types)
        )
        if wanted:
            await session.execute(
                insert(Delivery),
                [
                    {
                        "id": uuid.uuid4(),
                        "webhook_id": hook_id,
                        "event_seq": seq,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for hook_id in wanted
                ],
            )
