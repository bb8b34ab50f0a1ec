"""Check every invariant of the ledger from its journal, at any moment.

The write path keeps these true by construction; `verify` proves it from the stored rows:
each entry balances per currency and has the postings its phase needs; every stored balance
row equals the sum of its postings (posted entries, and pending entries still open); the
index of open pending entries matches the journal; no post moves more than was held; no
flagged account breaks its flag or holds more than MAX_BALANCE; and per currency all balances
sum to zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger.model import MAX_BALANCE

MAX_VIOLATIONS_PER_CHECK = 50

_CHECKS: dict[str, str] = {
    "entry_unbalanced": """
        SELECT entry_id, currency FROM ledger_postings
        GROUP BY entry_id, currency HAVING SUM(debit) <> SUM(credit)
    """,
    "entry_posting_count": """
        SELECT e.id, e.phase, COUNT(p.id) FROM ledger_entries e
        LEFT JOIN ledger_postings p ON p.entry_id = e.id
        GROUP BY e.id, e.phase
        HAVING (e.phase = 'void' AND COUNT(p.id) <> 0)
            OR (e.phase <> 'void' AND COUNT(p.id) < 2)
    """,
    "posting_currency_mismatch": """
        SELECT p.id, p.currency, a.currency FROM ledger_postings p
        JOIN ledger_accounts a ON a.id = p.account_id WHERE p.currency <> a.currency
    """,
    "posting_shard_out_of_range": """
        SELECT p.id, p.shard FROM ledger_postings p
        JOIN ledger_accounts a ON a.id = p.account_id
        WHERE p.shard < 0 OR p.shard >= a.shards
    """,
    "balance_differs_from_postings": """
        WITH sums AS (
            SELECT p.account_id, p.shard,
                SUM(CASE WHEN e.phase IN ('posted', 'post') THEN p.debit ELSE 0 END) AS dp,
                SUM(CASE WHEN e.phase IN ('posted', 'post') THEN p.credit ELSE 0 END) AS cp,
                SUM(CASE WHEN o.entry_id IS NOT NULL THEN p.debit ELSE 0 END) AS dq,
                SUM(CASE WHEN o.entry_id IS NOT NULL THEN p.credit ELSE 0 END) AS cq
            FROM ledger_postings p
            JOIN ledger_entries e ON e.id = p.entry_id
            LEFT JOIN ledger_open_pending o ON o.entry_id = e.id
            GROUP BY p.account_id, p.shard
        )
        SELECT b.account_id, b.shard FROM ledger_balances b
        LEFT JOIN sums s ON s.account_id = b.account_id AND s.shard = b.shard
        WHERE b.debits_posted <> COALESCE(s.dp, 0) OR b.credits_posted <> COALESCE(s.cp, 0)
           OR b.debits_pending <> COALESCE(s.dq, 0) OR b.credits_pending <> COALESCE(s.cq, 0)
        UNION ALL
        SELECT s.account_id, s.shard FROM sums s
        LEFT JOIN ledger_balances b ON s.account_id = b.account_id AND s.shard = b.shard
        WHERE b.account_id IS NULL
    """,
    "open_pending_mismatch": """
        SELECT e.id FROM ledger_entries e
        LEFT JOIN ledger_entries r ON r.resolves_id = e.id
        LEFT JOIN ledger_open_pending o ON o.entry_id = e.id
        WHERE e.phase = 'pending'
          AND ((r.id IS NULL AND o.entry_id IS NULL)
               OR (r.id IS NOT NULL AND o.entry_id IS NOT NULL))
        UNION ALL
        SELECT o.entry_id FROM ledger_open_pending o
        JOIN ledger_entries e ON e.id = o.entry_id WHERE e.phase <> 'pending'
    """,
    "post_exceeds_pending": """
        WITH posted AS (
            SELECT r.id AS resolution, r.resolves_id AS pending, p.account_id, p.shard,
                   SUM(p.debit) AS debit, SUM(p.credit) AS credit
            FROM ledger_entries r JOIN ledger_postings p ON p.entry_id = r.id
            WHERE r.phase = 'post' GROUP BY r.id, r.resolves_id, p.account_id, p.shard
        ), held AS (
            SELECT entry_id, account_id, shard, SUM(debit) AS debit, SUM(credit) AS credit
            FROM ledger_postings GROUP BY entry_id, account_id, shard
        )
        SELECT posted.resolution FROM posted
        LEFT JOIN held ON held.entry_id = posted.pending
            AND held.account_id = posted.account_id AND held.shard = posted.shard
        WHERE held.entry_id IS NULL OR posted.debit > held.debit OR posted.credit > held.credit
    """,
    "flag_violated": """
        SELECT a.id, a.flags FROM ledger_accounts a
        JOIN ledger_balances b ON b.account_id = a.id
        WHERE a.flags <> 0
        GROUP BY a.id, a.flags
        HAVING (a.flags = 1
                AND SUM(b.debits_posted) + SUM(b.debits_pending) > SUM(b.credits_posted))
            OR (a.flags = 2
                AND SUM(b.credits_posted) + SUM(b.credits_pending) > SUM(b.debits_posted))
    """,
    "balance_above_limit": """
        SELECT a.id, a.flags FROM ledger_accounts a
        JOIN ledger_balances b ON b.account_id = a.id
        WHERE a.flags <> 0
        GROUP BY a.id, a.flags
        HAVING (a.flags = 1 AND SUM(b.credits_posted) + SUM(b.credits_pending)
                                - SUM(b.debits_posted) > @MAX_BALANCE@)
            OR (a.flags = 2 AND SUM(b.debits_posted) + SUM(b.debits_pending)
                                - SUM(b.credits_posted) > @MAX_BALANCE@)
    """.replace("@MAX_BALANCE@", str(MAX_BALANCE)),
    "currency_does_not_sum_to_zero": """
        SELECT a.currency FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id
        GROUP BY a.currency
        HAVING SUM(b.debits_posted) <> SUM(b.credits_posted)
            OR SUM(b.debits_pending) <> SUM(b.credits_pending)
    """,
}


@dataclass
class VerifyReport:
    ok: bool
    entries_checked: int
    violations: list[dict[str, object]] = field(default_factory=list)


async def verify(session: AsyncSession) -> VerifyReport:
    """Run every check; `ok` is true only if none found anything."""
    violations: list[dict[str, object]] = []
    for check, sql in _CHECKS.items():
        limited = f"{sql} LIMIT {MAX_VIOLATIONS_PER_CHECK}"
        rows = (await session.execute(text(limited))).all()
        violations.extend({"check": check, "row": [str(value) for value in row]} for row in rows)
    entries_checked = int(
        (await session.execute(text("SELECT COUNT(*) FROM ledger_entries"))).scalar_one()
    )
    return VerifyReport(ok=not violations, entries_checked=entries_checked, violations=violations)
