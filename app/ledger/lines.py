"""Posted lines of accounts, by account code: the raw material of reports and reconciliations.

A report built elsewhere (a rollup, a public funding-flow view) can be checked against the
journal itself by reading these lines: every posted movement of every account of the given
codes, with the kind and metadata of its entry and the natural key of its account.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger import tables

POSTED_PHASES = ("posted", "post")
_PAGE = 5000


@dataclass(frozen=True, slots=True)
class PostedLine:
    entry_id: uuid.UUID
    kind: str
    meta: dict[str, Any]
    account_code: str
    owner_ref: str
    currency: str
    debit: int
    credit: int


async def posted_lines(
    session: AsyncSession, codes: Sequence[str], kinds: Sequence[str] | None = None
) -> list[PostedLine]:
    """Every posted line of accounts with these codes (optionally only of these entry kinds),
    in journal order. Reads page by page; meant for audits, not request paths."""
    p, e, a = tables.postings.c, tables.entries.c, tables.accounts.c
    query = (
        select(p.id, e.id, e.kind, e.meta, a.code, a.owner_ref, p.currency, p.debit, p.credit)
        .select_from(
            tables.postings.join(tables.entries, e.id == p.entry_id).join(
                tables.accounts, a.id == p.account_id
            )
        )
        .where(a.code.in_(list(codes)), e.phase.in_(POSTED_PHASES))
        .order_by(p.id)
        .limit(_PAGE)
    )
    if kinds is not None:
        query = query.where(e.kind.in_(list(kinds)))
    lines: list[PostedLine] = []
    after = 0
    while True:
        rows = (await session.execute(query.where(p.id > after))).all()
        lines.extend(_to_lines(rows))
        if len(rows) < _PAGE:
            return lines
        after = rows[-1][0]


def _to_lines(rows: Sequence[Any]) -> Iterator[PostedLine]:
    for _, entry_id, kind, meta, code, owner_ref, currency, debit, credit in rows:
        yield PostedLine(entry_id, kind, dict(meta or {}), code, owner_ref, currency, debit, credit)
