"""PostgreSQL's fast path for writing an entry: one round trip instead of one per row.

Python still plans everything (validation, shards, lock order, which rows need a flag or
balance-limit check: `balance_rows.plan`); the server-side function `ledger_write_entry`
(created by migration 0003, re-created with the balance limit by 0009) executes that plan
with the same semantics as the portable path in entries.py / balance_rows.py, which SQLite
uses. Both are covered by the same tests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger.accounts import forget_account
from app.ledger.balance_rows import RowChange, plan
from app.ledger.errors import (
    AccountConflict,
    BalanceLimitExceeded,
    BalanceRowMissing,
    LedgerError,
    LimitExceeded,
)
from app.ledger.model import Account, PostingRecord
from app.sql.transactions import sqlstate_of

LIMIT_EXCEEDED = "TRL01"
BALANCE_ROW_MISSING = "TRL02"
BALANCE_LIMIT_EXCEEDED = "TRL03"
ACCOUNT_CONFLICT = "TRL04"

_CALL = text(
    "SELECT ledger_write_entry(:id, :kind, :phase, :resolves, :timeout, CAST(:meta AS json), "
    ":fingerprint, :created, CAST(:r_account AS uuid[]), CAST(:r_shard AS int[]), "
    "CAST(:r_dp AS bigint[]), CAST(:r_cp AS bigint[]), CAST(:r_dq AS bigint[]), "
    "CAST(:r_cq AS bigint[]), CAST(:r_mode AS int[]), CAST(:r_flags AS int[]), "
    "CAST(:q_account AS uuid[]), CAST(:q_shard AS int[]), CAST(:q_currency AS text[]), "
    "CAST(:q_debit AS bigint[]), CAST(:q_credit AS bigint[]))"
)


_CALL_MANY = text(
    "SELECT ledger_write_entries(CAST(:e_id AS uuid[]), CAST(:e_kind AS text[]), "
    "CAST(:e_phase AS text[]), CAST(:e_resolves AS uuid[]), CAST(:e_timeout AS timestamptz[]), "
    "CAST(:e_meta AS json[]), CAST(:e_fingerprint AS text[]), CAST(:e_created AS timestamptz[]), "
    "CAST(:e_rows AS int[]), CAST(:e_postings AS int[]), "
    "CAST(:r_account AS uuid[]), CAST(:r_shard AS int[]), CAST(:r_dp AS bigint[]), "
    "CAST(:r_cp AS bigint[]), CAST(:r_dq AS bigint[]), CAST(:r_cq AS bigint[]), "
    "CAST(:r_mode AS int[]), CAST(:r_flags AS int[]), CAST(:q_account AS uuid[]), "
    "CAST(:q_shard AS int[]), CAST(:q_currency AS text[]), CAST(:q_debit AS bigint[]), "
    "CAST(:q_credit AS bigint[]))"
)


@dataclass(frozen=True, slots=True)
class PlannedWrite:
    """One entry ready for the server: its header fields, balance changes and postings."""

    entry_id: uuid.UUID
    kind: str
    phase: str
    resolves_id: uuid.UUID | None
    timeout_at: datetime | None
    meta: Mapping[str, Any]
    fingerprint: str
    created_at: datetime
    changes: Sequence[RowChange]
    postings: Sequence[PostingRecord]


def _row_params(rows: list[tuple[RowChange, int]]) -> dict[str, list[Any]]:
    return {
        "r_account": [row.account.id for row, _ in rows],
        "r_shard": [row.shard for row, _ in rows],
        "r_dp": [row.debits_posted for row, _ in rows],
        "r_cp": [row.credits_posted for row, _ in rows],
        "r_dq": [row.debits_pending for row, _ in rows],
        "r_cq": [row.credits_pending for row, _ in rows],
        "r_mode": [mode for _, mode in rows],
        "r_flags": [int(row.account.flags) for row, _ in rows],
    }


def _posting_params(postings: Sequence[PostingRecord]) -> dict[str, list[Any]]:
    return {
        "q_account": [p.account_id for p in postings],
        "q_shard": [p.shard for p in postings],
        "q_currency": [p.currency for p in postings],
        "q_debit": [p.debit for p in postings],
        "q_credit": [p.credit for p in postings],
    }


async def _execute(session: AsyncSession, statement: Any, params: dict[str, Any]) -> Any:
    """Run a write function, turning its SQLSTATEs back into ledger errors (naming the
    failed entry of a batch, from the error's DETAIL)."""
    try:
        return await session.execute(statement, params)
    except DBAPIError as error:
        refused = _refusal(error)
        if refused is None:
            raise
        refused.failed_entry_id = _failed_entry(error)
        raise refused from None


def _refusal(error: DBAPIError) -> LedgerError | None:
    """The ledger error a write function's SQLSTATE stands for; None for any other."""
    code = sqlstate_of(error)
    if code == LIMIT_EXCEEDED:
        account, available, requested = _message(error).split("|")
        return LimitExceeded(uuid.UUID(account), int(available), int(requested))
    if code == BALANCE_ROW_MISSING:
        return _missing(uuid.UUID(_message(error)))
    if code == ACCOUNT_CONFLICT:
        account_id = uuid.UUID(_message(error))
        forget_account(account_id)
        return AccountConflict(f"account {account_id} exists with other flags or shards")
    if code == BALANCE_LIMIT_EXCEEDED:
        account, holding, requested, limit = _message(error).split("|")
        return BalanceLimitExceeded(uuid.UUID(account), int(holding), int(requested), int(limit))
    return None


def _failed_entry(error: DBAPIError) -> uuid.UUID | None:
    """The entry a batch named in the error's DETAIL ("entry <id>"), if any."""
    driver_error = getattr(getattr(error, "orig", None), "__cause__", None)
    detail = getattr(driver_error, "detail", None)
    if isinstance(detail, str) and detail.startswith("entry "):
        return uuid.UUID(detail.removeprefix("entry "))
    return None


# The same calls, preceded in the same statement by creating the accounts they use (the
# volatile CTE runs first: the call reads its one row).
_ENSURED = (
    "WITH ensured AS (SELECT ledger_ensure_accounts(CAST(:a_id AS uuid[]), "
    "CAST(:a_code AS text[]), CAST(:a_currency AS text[]), CAST(:a_owner AS text[]), "
    "CAST(:a_flags AS int[]), CAST(:a_shards AS int[]), CAST(:a_created AS timestamptz)) "
    "AS done) {call} FROM ensured"
)
_CALL_ENSURED = text(_ENSURED.format(call=_CALL.text))
_CALL_MANY_ENSURED = text(_ENSURED.format(call=_CALL_MANY.text))


def _ensure_params(ensure: Sequence[Account]) -> dict[str, Any]:
    if not ensure:
        return {}
    return {
        "a_id": [a.id for a in ensure],
        "a_code": [a.code for a in ensure],
        "a_currency": [a.currency for a in ensure],
        "a_owner": [a.owner_ref for a in ensure],
        "a_flags": [int(a.flags) for a in ensure],
        "a_shards": [a.shards for a in ensure],
        "a_created": min(a.created_at for a in ensure),
    }


async def write_many(
    session: AsyncSession, writes: Sequence[PlannedWrite], *, ensure: Sequence[Account] = ()
) -> list[bool]:
    """Write a batch in one round trip; per entry, False if its id was taken already.
    All or nothing: an error rolls the whole batch back with the caller's transaction."""
    rows: list[tuple[RowChange, int]] = []
    postings: list[PostingRecord] = []
    row_ends: list[int] = []
    posting_ends: list[int] = []
    for write in writes:
        rows.extend(plan(write.changes))
        postings.extend(write.postings)
        row_ends.append(len(rows))
        posting_ends.append(len(postings))
    params: dict[str, Any] = {
        "e_id": [w.entry_id for w in writes],
        "e_kind": [w.kind for w in writes],
        "e_phase": [w.phase for w in writes],
        "e_resolves": [w.resolves_id for w in writes],
        "e_timeout": [w.timeout_at for w in writes],
        "e_meta": [json.dumps(dict(w.meta)) for w in writes],
        "e_fingerprint": [w.fingerprint for w in writes],
        "e_created": [w.created_at for w in writes],
        "e_rows": row_ends,
        "e_postings": posting_ends,
        **_row_params(rows),
        **_posting_params(postings),
        **_ensure_params(ensure),
    }
    result = await _execute(session, _CALL_MANY_ENSURED if ensure else _CALL_MANY, params)
    return [status == 0 for status in result.scalar_one()]


def _message(error: DBAPIError) -> str:
    original = getattr(error, "orig", None)
    cause = getattr(original, "__cause__", None)
    return str(getattr(cause, "args", [""])[0] if cause is not None else original)


async def write(
    session: AsyncSession,
    *,
    entry_id: uuid.UUID,
    kind: str,
    phase: str,
    resolves_id: uuid.UUID | None,
    timeout_at: datetime | None,
    meta: Mapping[str, Any],
    fingerprint: str,
    created_at: datetime,
    changes: Sequence[RowChange],
    postings: Sequence[PostingRecord],
    ensure: Sequence[Account] = (),
) -> bool:
    """Write the entry with its balance changes (creating the `ensure` accounts first);
    False if the entry id (or the pending entry it resolves) was taken already."""
    params: dict[str, Any] = {
        "id": entry_id,
        "kind": kind,
        "phase": phase,
        "resolves": resolves_id,
        "timeout": timeout_at,
        "meta": json.dumps(dict(meta)),
        "fingerprint": fingerprint,
        "created": created_at,
        **_row_params(plan(changes)),
        **_posting_params(postings),
        **_ensure_params(ensure),
    }
    result = await _execute(session, _CALL_ENSURED if ensure else _CALL, params)
    return bool(result.scalar_one() == 0)


def _missing(account_id: uuid.UUID) -> BalanceRowMissing:
    forget_account(account_id)
    return BalanceRowMissing(account_id)
