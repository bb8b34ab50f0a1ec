"""How a sealed leaf names accounts: keyed tags, optionally private to a scope of entries.

The public log must let anyone see that an entry balances and that the same account appears
in several entries, without revealing whose account it is. A leaf therefore carries a tag
per posting instead of the account id: HMAC-SHA256 under a secret derived from the signing
seed (signing.py), which never leaves the server. Account ids are derived from natural keys
(an organisation's wallet is a UUIDv5 of its id), so a tag keyed by anything public could be
recomputed by anyone; a secret key makes tags opaque.

Equal tags still link entries. An entry whose movements must not be linkable to the rest of
the log (the caller decides why; the ledger knows nothing of the reason) names a *tag scope*
in its metadata, under the key `TAG_SCOPE`. Every account of such an entry is tagged per
(account, scope): entries of one scope show their shared accounts to each other, and no tag
of the scope equals a tag outside it, or one of another scope. The post or void of a pending
entry that names a scope inherits it, as it moves the same accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from typing import Any

from app.ledger.errors import InvalidEntry

TAG_SCOPE = "tag_scope"
MAX_SCOPE_CHARS = 200
TAG_HEX_CHARS = 32  # 128 bits: no collisions in any log this ledger will write

_GLOBAL = b"\x00"  # domain separation: a global tag can never equal a scoped one
_SCOPED = b"\x01"


def scope_of(meta: Mapping[str, Any]) -> str | None:
    """The entry's tag scope, or None; InvalidEntry if the metadata names a malformed one."""
    scope = meta.get(TAG_SCOPE)
    if scope is None:
        return None
    if not isinstance(scope, str) or not 1 <= len(scope) <= MAX_SCOPE_CHARS:
        raise InvalidEntry(f"meta {TAG_SCOPE!r} must be a string of 1-{MAX_SCOPE_CHARS} characters")
    return scope


def inherit_scope(pending_meta: Mapping[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The metadata of a pending entry's post or void: the pending's scope unless it names
    its own."""
    scope = scope_of(pending_meta)
    if scope is None or TAG_SCOPE in meta:
        return meta
    return {**meta, TAG_SCOPE: scope}


def account_tag(key: bytes, account_id: uuid.UUID, scope: str | None) -> str:
    """The account's tag in a leaf: the same for every unscoped entry, or for every entry of
    one scope; unrelated otherwise. The id has a fixed length, so the input is unambiguous."""
    message = (
        _GLOBAL + account_id.bytes
        if scope is None
        else _SCOPED + account_id.bytes + scope.encode("utf-8")
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:TAG_HEX_CHARS]
