"""Public flow views, kept until their rollup moves.

Building a challenge's graph costs far more in Python (aggregating, labelling, validating,
serialising) than the rollup query itself. Each app keeps the last graph per view
(challenge or currency, and max_funders) with the view's version (`graph.version`, one
indexed aggregate), and its JSON once some reader asked for it: a read whose version
matches answers the stored bytes, a dashboard polling with If-None-Match gets its 304, and
the challenge page draws its tables, without a graph being built. Versions only grow and
are read in the same transaction as the graph they label, so a stored graph is never older
than the version it is stored under. One cache per app (app.state), so two apps on two
databases never share views. Bounded: the least recently used view goes first.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.etag import etag_of
from app.domain.flows import graph
from app.domain.flows.graph import FlowGraph

ViewKey = tuple[uuid.UUID | None, str, int]


@dataclass
class View:
    version: int
    graph: FlowGraph
    body: bytes | None = None
    etag: str = ""

    def rendered(self, render: Callable[[FlowGraph], bytes]) -> tuple[bytes, str]:
        """The view's JSON and its strong ETag, rendered once per version."""
        if self.body is None:
            self.body = render(self.graph)
            self.etag = etag_of(self.body)
        return self.body, self.etag


class FlowsCache:
    def __init__(self, max_views: int = 256) -> None:
        self.max_views = max_views
        self._views: OrderedDict[ViewKey, View] = OrderedDict()

    async def view(
        self,
        session: AsyncSession,
        challenge_id: uuid.UUID | None,
        currency: str,
        max_funders: int,
    ) -> View:
        """The view as of this session's reads: cached while its version holds."""
        key = (challenge_id, currency, max_funders)
        version = await graph.version(session, challenge_id, currency)
        found = self._views.get(key)
        if found is None or found.version != version:
            built = await graph.build(session, challenge_id, currency, max_funders)
            found = View(version, built)
            self._views[key] = found
        self._views.move_to_end(key)
        while len(self._views) > self.max_views:
            self._views.popitem(last=False)
        assert len(self._views) <= self.max_views
        return found
