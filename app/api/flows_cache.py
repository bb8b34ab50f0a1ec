"""Rendered public flow views, kept until their rollup moves.

Building a challenge's graph costs far more in Python (aggregating, labelling, validating,
serialising) than the rollup query itself. Each app keeps the last rendered body per view
(challenge or currency, and max_funders) with the view's version (`graph.version`, one
indexed aggregate); a read whose version matches answers the stored bytes, and a dashboard
polling with If-None-Match gets its 304 without a graph being built. Versions only grow
and are read in the same transaction as the graph they label, so a stored body is never
older than the version it is stored under. One cache per app (app.state), so two apps on
two databases never share views. Bounded: the least recently used view goes first.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from dataclasses import dataclass

ViewKey = tuple[uuid.UUID | None, str, int]


@dataclass(frozen=True)
class Rendered:
    version: int
    body: bytes
    etag: str


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class FlowsCache:
    def __init__(self, max_views: int = 256) -> None:
        self.max_views = max_views
        self._views: OrderedDict[ViewKey, Rendered] = OrderedDict()

    def get(self, key: ViewKey, version: int) -> Rendered | None:
        found = self._views.get(key)
        if found is None or found.version != version:
            return None
        self._views.move_to_end(key)
        return found

    def put(self, key: ViewKey, version: int, body: bytes) -> Rendered:
        rendered = Rendered(version, body, etag_of(body))
        self._views[key] = rendered
        self._views.move_to_end(key)
        while len(self._views) > self.max_views:
            self._views.popitem(last=False)
        assert len(self._views) <= self.max_views
        return rendered
