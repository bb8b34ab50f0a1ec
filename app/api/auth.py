"""The one dependency that resolves the caller of every authenticated request.

It accepts `Authorization: Bearer <secret>`: the admin token or an organisation's API key.
Every route that takes it needs a caller, so a missing or wrong credential is a 401 before
anything else about the request is looked at (a bad body without a key is still a 401, not
a 422). Public routes do not take it. API keys come from a one-second cache (key_cache.py),
so a request needs no transaction of its own to learn its caller. Authenticated callers are
rate limited per key and per organisation (app/api/ratelimit.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from app.api.deps import DatabaseDep, SettingsDep
from app.api.key_cache import KeyCache
from app.api.ratelimit import CallerRateLimits
from app.db import Database
from app.domain.errors import Unauthenticated
from app.domain.identity import service as identity
from app.domain.identity.caller import ADMIN, Caller
from app.settings import Settings

bearer = HTTPBearer(
    auto_error=False,
    description="The admin token, or an API key of your organisation (`trb_…`).",
)


async def resolve_caller(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    if credentials is None:
        if request.headers.get("authorization"):
            raise Unauthenticated("Use Authorization: Bearer <secret>.")
        raise Unauthenticated("This endpoint needs an API key: send Authorization: Bearer <key>.")
    caller = await _caller_of(request, database, settings, credentials.credentials)
    limits: CallerRateLimits = request.app.state.rate_limits
    await limits.check(caller)
    request.state.caller = caller
    return caller


async def _caller_of(
    request: Request, database: Database, settings: Settings, token: str
) -> Caller:
    """The caller of a bearer token: the admin, or a key's organisation (from the key cache
    when it was looked up less than a second ago)."""
    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
    if admin_token is not None and identity.is_admin_token(token, admin_token):
        return ADMIN
    cache: KeyCache = request.app.state.key_cache
    secret_hash = identity.key_hash(token)
    cached = cache.get(secret_hash)
    if cached is not None:
        return cached
    async with database.read() as session:
        caller, stale = await identity.authenticate(session, token, admin_token=admin_token)
    if stale and caller.key_id is not None:
        key_id = caller.key_id
        await database.transaction(lambda session: identity.mark_key_used(session, key_id))
    cache.put(secret_hash, caller)
    return caller


CallerDep = Annotated[Caller, Depends(resolve_caller)]
