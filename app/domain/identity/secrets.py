"""API key secrets: how they are made, shown and stored.

A secret is 32 random bytes (256 bits), so a plain SHA-256 of it cannot be brute-forced and
needs no slow password hash: authenticating a request costs one hash and one indexed lookup.
The first characters form a visible prefix that support can ask for without the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "trb_"  # noqa: S105 - a public marker, not a secret
SECRET_BYTES = 32
VISIBLE_PREFIX_LENGTH = 12  # "trb_" + 8 characters
MAX_SECRET_LENGTH = 128


def new_secret() -> str:
    """A fresh API key secret: `trb_` + 43 url-safe base64 characters."""
    raw = secrets.token_bytes(SECRET_BYTES)
    return SECRET_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def hash_secret(secret: str) -> str:
    """The only form in which a secret is stored: lowercase hex SHA-256."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def visible_prefix(secret: str) -> str:
    return secret[:VISIBLE_PREFIX_LENGTH]


def looks_like_api_key(token: str) -> bool:
    return token.startswith(SECRET_PREFIX) and len(token) <= MAX_SECRET_LENGTH


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
