"""Reading balances and an account's posted history (with the balance after each line)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger import tables
from app.ledger.model import Balance, HistoryLine

MAX_HISTORY_PAGE = 1000
_POSTED_PHASES = ("posted", "post")


async def balances(
    session: AsyncSession, account_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Balance]:
    """Balances summed over shards; accounts with no rows are absent from the result."""
    ids = list(set(account_ids))
    if not ids:
        return {}
    b = tables.balances.c
    rows = await session.execute(
        select(
            b.account_id,
            func.sum(b.debits_posted),
            func.sum(b.credits_posted),
            func.sum(b.debits_pending),
            func.sum(b.credits_pending),
        )
        .where(b.account_id.in_(ids))
        .group_by(b.account_id)
    )
    return {
        row[0]: Balance(int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in rows.all()
    }


async def balance(session: AsyncSession, account_id: uuid.UUID) -> Balance:
    return (await balances(session, [account_id])).get(account_id, Balance())


async def history(
    session: AsyncSession,
    account_id: uuid.UUID,
    *,
    after_posting_id: int | None = None,
    limit: int = 100,
) -> list[HistoryLine]:
    """Posted movements of the account, oldest first, signed from its credit side.

    `balance_after` is the account's posted credit balance after the line, i.e. for a
    wallet the money it held at that point.
    """
    limit = max(1, min(limit, MAX_HISTORY_PAGE))
    p, e = tables.postings.c, tables.entries.c
    posted = (p.account_id == account_id) & e.phase.in_(_POSTED_PHASES)
    opening = 0
    if after_posting_id is not None:
        opening = int(
            await session.scalar(
                select(func.coalesce(func.sum(p.credit - p.debit), 0))
                .select_from(tables.postings.join(tables.entries, e.id == p.entry_id))
                .where(posted, p.id <= after_posting_id)
            )
            or 0
        )
    query = (
        select(
            p.id,
            p.entry_id,
            e.kind,
            e.created_at,
            e.meta,
            (p.credit - p.debit).label("amount"),
            func.sum(p.credit - p.debit).over(order_by=p.id).label("running"),
        )
        .select_from(tables.postings.join(tables.entries, e.id == p.entry_id))
        .where(posted)
        .order_by(p.id)
        .limit(limit)
    )
    if after_posting_id is not None:
        query = query.where(p.id > after_posting_id)
    rows = (await session.execute(query)).mappings().all()
    return [
        HistoryLine(
            posting_id=row["id"],
            entry_id=row["entry_id"],
            kind=row["kind"],
            amount=int(row["amount"]),
            balance_after=opening + int(row["running"]),
            created_at=row["created_at"],
            meta=dict(row["meta"] or {}),
        )
        for row in rows
    ]


async def debited_by_kind(
    session: AsyncSession, account_ids: Iterable[uuid.UUID], kinds: Iterable[str]
) -> int:
    ids, kind_list = list(set(account_ids)), list(set(kinds))
    if not ids or not kind_list:
        return 0
    p, e = tables.postings.c, tables.entries.c
    total = await session.scalar(
        select(func.coalesce(func.sum(p.debit), 0))
        .select_from(tables.postings.join(tables.entries, e.id == p.entry_id))
        .where(p.account_id.in_(ids), e.kind.in_(kind_list), e.phase.in_(_POSTED_PHASES))
    )
    return int(total or 0)


async def debited_by_kind_each(
    session: AsyncSession, account_ids: Iterable[uuid.UUID], kinds: Iterable[str]
) -> dict[uuid.UUID, int]:
    """Posted debits per account by entries of these kinds; accounts with none are absent."""
    ids, kind_list = list(set(account_ids)), list(set(kinds))
    if not ids or not kind_list:
        return {}
    p, e = tables.postings.c, tables.entries.c
    rows = await session.execute(
        select(p.account_id, func.sum(p.debit))
        .select_from(tables.postings.join(tables.entries, e.id == p.entry_id))
        .where(p.account_id.in_(ids), e.kind.in_(kind_list), e.phase.in_(_POSTED_PHASES))
        .group_by(p.account_id)
    )
    return {account_id: int(total) for account_id, total in rows if total}


async def nonzero_of_code(session: AsyncSession, code: str) -> list[tuple[str, str, Balance]]:
    """(owner_ref, currency, balance) of every account with this code whose balance is not
    all zero, for audits that look for money where none should be."""
    b, a = tables.balances.c, tables.accounts.c
    dp, cp = func.sum(b.debits_posted), func.sum(b.credits_posted)
    dq, cq = func.sum(b.debits_pending), func.sum(b.credits_pending)
    rows = await session.execute(
        select(a.owner_ref, a.currency, dp, cp, dq, cq)
        .select_from(tables.balances.join(tables.accounts, a.id == b.account_id))
        .where(a.code == code)
        .group_by(a.id, a.owner_ref, a.currency)
        .having((dp != cp) | (dq != 0) | (cq != 0))
        .order_by(a.owner_ref)
    )
    return [
        (owner_ref, currency, Balance(int(d), int(c), int(q), int(r)))
        for owner_ref, currency, d, c, q, r in rows
    ]
