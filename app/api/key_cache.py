"""API keys resolved from a short-lived in-process cache, so an authenticated write costs no
transaction of its own to learn its caller.

An entry lives KEY_CACHE_SECONDS (one second). A key revoked through this process is dropped
at once; every other process forgets it within the second, so a revocation takes effect
everywhere within a second (docs/security.md). Unknown and revoked keys are not cached: each
try costs a lookup, as before. The cache is per app (per process), bounded, and holds no
secret: entries are keyed by the secret's SHA-256, as the database stores it.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from app.domain.identity.caller import Caller

KEY_CACHE_SECONDS = 1.0
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class _Entry:
    caller: Caller
    until: float


class KeyCache:
    def __init__(self, seconds: float = KEY_CACHE_SECONDS, limit: int = MAX_ENTRIES) -> None:
        self.seconds, self.limit = seconds, limit
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._by_key: dict[uuid.UUID, str] = {}

    def get(self, secret_hash: str) -> Caller | None:
        entry = self._entries.get(secret_hash)
        if entry is None:
            return None
        if entry.until <= time.monotonic():
            self._drop(secret_hash)
            return None
        return entry.caller

    def put(self, secret_hash: str, caller: Caller) -> None:
        self._entries[secret_hash] = _Entry(caller, time.monotonic() + self.seconds)
        self._entries.move_to_end(secret_hash)
        if caller.key_id is not None:
            self._by_key[caller.key_id] = secret_hash
        while len(self._entries) > self.limit:
            self._drop(next(iter(self._entries)))

    def forget_key(self, key_id: uuid.UUID) -> None:
        """The key was revoked here: no request of this process may use it again."""
        secret_hash = self._by_key.get(key_id)
        if secret_hash is not None:
            self._drop(secret_hash)

    def _drop(self, secret_hash: str) -> None:
        entry = self._entries.pop(secret_hash, None)
        if entry is not None and entry.caller.key_id is not None:
            self._by_key.pop(entry.caller.key_id, None)
