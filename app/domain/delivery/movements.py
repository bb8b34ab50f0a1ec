"""Market movements that touch many pledges, written as several ledger entries.

A ledger entry holds at most a few hundred postings, and an award or payout on a challenge
with thousands of pledges needs one or two per pledge. Such a movement is cut into parts of
at most PLEDGES_PER_ENTRY pledges, each a balanced entry of its own, all written in the one
transaction of the state change. Part 0 keeps the movement's id (so a movement that fits in
one entry is written exactly as before) and later parts derive theirs from it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from app.domain.errors import invariant
from app.ledger import Entry, EntrySpec, Ledger, Posting, derived_id

T = TypeVar("T")
PLEDGES_PER_ENTRY = 100  # x2 postings, or + at most 20 members: well under the ledger's cap


def part_id(movement_id: uuid.UUID, index: int) -> uuid.UUID:
    return movement_id if index == 0 else derived_id(movement_id, f"part:{index}")


def chunked(items: Sequence[T], size: int = PLEDGES_PER_ENTRY) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


async def post_parts(
    ledger: Ledger,
    movement_id: uuid.UUID,
    kind: str,
    parts: Sequence[Sequence[Posting]],
    meta: Mapping[str, Any],
) -> None:
    """Write the movement's parts; each part must balance on its own."""
    parts = [part for part in parts if part]
    for part in parts:
        invariant(
            sum(p.debit for p in part) == sum(p.credit for p in part),
            f"part of movement {movement_id} ({kind}) does not balance",
        )
    specs = [
        EntrySpec(
            entry_id=part_id(movement_id, index),
            kind=kind,
            postings=postings,
            meta=dict(meta) if len(parts) == 1 else {**meta, "part": index, "parts": len(parts)},
        )
        for index, postings in enumerate(parts)
    ]
    if specs:
        await ledger.post_entries(specs)


async def part_entries(ledger: Ledger, movement_id: uuid.UUID) -> list[Entry]:
    """Every entry of a movement, part 0 first."""
    found: list[Entry] = []
    while (entry := await ledger.get_entry(part_id(movement_id, len(found)))) is not None:
        found.append(entry)
    return found
