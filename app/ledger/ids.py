"""Ids of entries derived from what caused them: the one way every step's id is made.

A step taken on behalf of something (a pledge meeting its threshold, a milestone's payout,
the second part of a large movement, the timeout of a pending entry) gets the id
uuid5(origin, step). Every process derives the same id for the same step, so a step that is
retried, or raced by another process, writes the same entry: the ledger answers the second
write with the first entry instead of moving the money twice.
"""

from __future__ import annotations

import uuid


def derived_id(origin: uuid.UUID, step: str) -> uuid.UUID:
    """The id of `step` taken on behalf of `origin` (an entry, pledge, milestone, ...)."""
    if not step:
        raise ValueError("a derived id needs the name of its step")
    return uuid.uuid5(origin, step)
