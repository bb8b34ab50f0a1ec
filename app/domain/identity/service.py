"""Use cases of identity: organisations, API keys, authentication and the audit trail.

Each function takes the session of the caller's unit of work, flushes and never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.errors import Conflict, NotFound, Unauthenticated
from app.domain.identity.caller import ADMIN, Caller
from app.domain.identity.models import ApiKey, AuditRecord, Org
from app.domain.identity.secrets import (
    hash_secret,
    looks_like_api_key,
    new_secret,
    same_secret,
    visible_prefix,
)
from app.domain.wording import quoted
from app.sql.types import utcnow

LAST_USED_RESOLUTION = timedelta(seconds=60)
MAX_KEYS_PER_ORG = 100


@dataclass(frozen=True)
class IssuedKey:
    """A new key and its secret, which exists in clear only in this object."""

    key: ApiKey
    secret: str


async def create_org(
    session: AsyncSession,
    caller: Caller | None,
    *,
    name: str,
    roles: Sequence[str],
    public_name: str | None,
) -> Org:
    policies.require_admin(caller)
    existing = await session.scalar(select(Org.id).where(Org.name == name))
    if existing is not None:
        raise Conflict(
            f"An organisation named {quoted(name)} already exists.", code="org_name_taken"
        )
    org = Org(id=uuid.uuid4(), name=name, roles=sorted(set(roles)), public_name=public_name)
    session.add(org)
    await session.flush()
    return org


async def org_named(session: AsyncSession, name: str) -> Org | None:
    return await session.scalar(select(Org).where(Org.name == name))


async def roles_of(
    session: AsyncSession, org_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The roles of each of these organisations that exists."""
    if not org_ids:
        return {}
    rows = await session.execute(select(Org.id, Org.roles).where(Org.id.in_(list(org_ids))))
    return {org_id: list(roles) for org_id, roles in rows}


async def org_names(session: AsyncSession, org_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The public name (or, failing that, the name) of each of these organisations."""
    if not org_ids:
        return {}
    rows = await session.execute(
        select(Org.id, Org.name, Org.public_name).where(Org.id.in_(list(org_ids)))
    )
    return {org_id: public_name or name for org_id, name, public_name in rows}


async def get_org(session: AsyncSession, caller: Caller | None, org_id: uuid.UUID) -> Org:
    policies.ensure_can_manage_org(caller, org_id)
    org = await session.get(Org, org_id)
    if org is None:
        raise NotFound("organisation", org_id)
    return org


async def get_me(session: AsyncSession, caller: Caller | None) -> Org:
    caller = policies.require_org(caller)
    assert caller.org_id is not None
    return await get_org(session, caller, caller.org_id)


async def issue_api_key(
    session: AsyncSession, caller: Caller | None, org_id: uuid.UUID, *, label: str | None
) -> IssuedKey:
    await get_org(session, caller, org_id)
    active = await session.scalars(
        select(ApiKey.id).where(ApiKey.org_id == org_id, ApiKey.revoked_at.is_(None))
    )
    if len(active.all()) >= MAX_KEYS_PER_ORG:
        raise Conflict(
            f"An organisation may hold at most {MAX_KEYS_PER_ORG} active keys; revoke one first.",
            code="too_many_keys",
        )
    secret = new_secret()
    key = ApiKey(
        id=uuid.uuid4(),
        org_id=org_id,
        prefix=visible_prefix(secret),
        secret_hash=hash_secret(secret),
        label=label,
    )
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, secret=secret)


async def list_api_keys(
    session: AsyncSession, caller: Caller | None, org_id: uuid.UUID
) -> list[ApiKey]:
    await get_org(session, caller, org_id)
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.created_at, ApiKey.id)
    )
    return list(rows)


async def revoke_api_key(session: AsyncSession, caller: Caller | None, key_id: uuid.UUID) -> None:
    """Revoke a key; it fails with 401 from the next request on. Revoking twice is a no-op."""
    caller = policies.require_caller(caller)
    key = await session.get(ApiKey, key_id, with_for_update=True)
    if key is None or not policies.can_manage_org(caller, key.org_id):
        raise NotFound("API key", key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()


def is_admin_token(token: str, admin_token: str) -> bool:
    return same_secret(token, admin_token)


def key_hash(token: str) -> str:
    """What the database keeps of a key's secret (and what the key cache is keyed by)."""
    return hash_secret(token)


async def authenticate(
    session: AsyncSession, token: str, *, admin_token: str | None
) -> tuple[Caller, bool]:
    """Resolve a bearer token to a caller; also say whether `last_used_at` is stale.

    The admin token is compared in constant time; API keys are looked up by their hash, so
    the comparison cost does not depend on how much of a guessed secret is right.
    """
    if admin_token is not None and same_secret(token, admin_token):
        return ADMIN, False
    if not looks_like_api_key(token):
        raise Unauthenticated("The bearer token is not a valid API key.")
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.org_id, ApiKey.revoked_at, ApiKey.last_used_at, Org.roles)
            .join(Org, Org.id == ApiKey.org_id)
            .where(ApiKey.secret_hash == hash_secret(token))
        )
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("The API key is unknown or has been revoked.")
    stale = row.last_used_at is None or utcnow() - row.last_used_at > LAST_USED_RESOLUTION
    caller = Caller(kind="org", org_id=row.org_id, key_id=row.id, roles=frozenset(row.roles))
    return caller, stale


async def mark_key_used(session: AsyncSession, key_id: uuid.UUID) -> None:
    """Record use at a one-minute resolution, so busy keys do not write on every request."""
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))


async def list_audit(
    session: AsyncSession,
    caller: Caller | None,
    *,
    org_id: uuid.UUID | None,
    after_id: int | None,
    limit: int,
) -> list[AuditRecord]:
    policies.require_admin(caller)
    query = select(AuditRecord).order_by(AuditRecord.id).limit(limit)
    if org_id is not None:
        query = query.where(AuditRecord.org_id == org_id)
    if after_id is not None:
        query = query.where(AuditRecord.id > after_id)
    return list(await session.scalars(query))
