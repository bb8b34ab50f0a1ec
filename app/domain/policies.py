"""Who may do what: the one module every service asks before it reads or changes an object.

Rules follow the API contract: no credentials → Unauthenticated (401); a missing role →
Forbidden (403); an object the caller may not see → NotFound (404), worded exactly as for an
object that does not exist, so its existence is never revealed.
"""

from __future__ import annotations

import uuid

from app.domain.errors import Forbidden, NotFound, Unauthenticated
from app.domain.identity.caller import Caller


def require_caller(caller: Caller | None) -> Caller:
    """Any authenticated caller (admin or organisation key)."""
    if caller is None:
        raise Unauthenticated("This endpoint needs an API key: send Authorization: Bearer <key>.")
    return caller


def require_admin(caller: Caller | None) -> Caller:
    caller = require_caller(caller)
    if not caller.is_admin:
        raise Forbidden("Only the platform admin may do this.")
    return caller


def require_org(caller: Caller | None) -> Caller:
    """An organisation's key; the admin token belongs to no organisation."""
    caller = require_caller(caller)
    if caller.kind != "org" or caller.org_id is None:
        raise Forbidden("This endpoint acts for an organisation; use one of its API keys.")
    return caller


def require_role(caller: Caller | None, role: str) -> Caller:
    caller = require_org(caller)
    if not caller.has_role(role):
        raise Forbidden(f"This action needs the {role} role, which your organisation lacks.")
    return caller


def can_manage_org(caller: Caller, org_id: uuid.UUID) -> bool:
    """The admin and the organisation itself may read it and manage its keys and money."""
    return caller.is_admin or caller.is_org(org_id)


def ensure_can_manage_org(caller: Caller | None, org_id: uuid.UUID) -> Caller:
    caller = require_caller(caller)
    if not can_manage_org(caller, org_id):
        raise NotFound("organisation", org_id)
    return caller


def require_steward_of(
    caller: Caller | None, steward_org_id: uuid.UUID, *, admin_too: bool
) -> Caller:
    """A challenge's own steward (and, where the contract says so, the admin).

    Challenges are public, so acting on someone else's is a 403, not a 404.
    """
    caller = require_caller(caller)
    if admin_too and caller.is_admin:
        return caller
    if not caller.is_org(steward_org_id) or not caller.has_role("steward"):
        raise Forbidden("Only the challenge's steward may do this.")
    return caller
