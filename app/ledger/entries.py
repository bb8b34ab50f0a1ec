"""Writing journal entries: single-phase, pending, and the post or void of a pending one.

Every write happens inside the caller's transaction. It locks the balance rows it changes in
one global order (account id, then shard), so concurrent writers cannot deadlock each other
within one entry, and it checks account flags in the same statement that changes the row,
so no read-modify-write ever happens outside a lock. An entry id makes a write idempotent:
writing the same entry again returns the original; different content under the same id is
an EntryConflict. A LedgerError leaves the transaction to be rolled back by the caller.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger import pg_fastpath, tables
from app.ledger.accounts import confirm, ensure_accounts_portable, get_accounts, unconfirmed
from app.ledger.balance_rows import RowChange, apply_changes
from app.ledger.errors import EntryConflict, InvalidEntry, LedgerError, PendingNotOpen
from app.ledger.ids import derived_id
from app.ledger.model import (
    MAX_AMOUNT,
    Account,
    AccountFlags,
    Entry,
    Phase,
    Posting,
    PostingRecord,
)
from app.ledger.tags import inherit_scope, scope_of
from app.sql.dialect import insert_ignoring_conflicts, is_postgres, skip_locked
from app.sql.types import utcnow

MAX_POSTINGS = 256
MAX_BATCH = 1000
_KIND = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")


@dataclass(frozen=True, slots=True)
class _Planned:
    """A posting resolved to its account and the balance shard it will move."""

    account: Account
    shard: int
    debit: int
    credit: int

    def record(self) -> PostingRecord:
        return PostingRecord(
            self.account.id, self.shard, self.account.currency, self.debit, self.credit
        )


def _check_kind(kind: str) -> None:
    if not _KIND.match(kind):
        raise InvalidEntry(f"entry kind {kind!r} must be 1-64 lowercase characters")


def _check_postings(postings: Sequence[Posting]) -> None:
    if not 2 <= len(postings) <= MAX_POSTINGS:
        raise InvalidEntry(f"an entry needs 2 to {MAX_POSTINGS} postings, not {len(postings)}")
    for posting in postings:
        debit, credit = posting.debit, posting.credit
        if not (isinstance(debit, int) and isinstance(credit, int)):
            raise InvalidEntry("amounts are integers of minor units")
        if not ((debit > 0 and credit == 0) or (credit > 0 and debit == 0)):
            raise InvalidEntry("each posting debits or credits a positive amount, not both")
        if max(debit, credit) > MAX_AMOUNT:
            raise InvalidEntry(f"amount {max(debit, credit)} is larger than {MAX_AMOUNT}")


def _check_balanced(planned: Sequence[_Planned]) -> None:
    totals: dict[str, int] = {}
    for item in planned:
        totals[item.account.currency] = totals.get(item.account.currency, 0) + (
            item.debit - item.credit
        )
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise InvalidEntry(f"debits and credits differ per currency: {unbalanced}")


def _needs_check(account: Account, posting: Posting) -> bool:
    """Whether this posting could break the account's flag (and so must lock all shards)."""
    if account.flags == AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
        return posting.debit > 0
    if account.flags == AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
        return posting.credit > 0
    return False


def _plan(
    entry_id: uuid.UUID, postings: Sequence[Posting], accounts: Mapping[uuid.UUID, Account]
) -> list[_Planned]:
    """Pick each posting's shard: a limit-checked posting uses shard 0 (and locks all of the
    account's shards); any other spreads over the shards by the entry id."""
    planned = []
    for index, posting in enumerate(postings):
        account = accounts[posting.account_id]
        shard = 0 if _needs_check(account, posting) else (entry_id.int + index) % account.shards
        planned.append(_Planned(account, shard, posting.debit, posting.credit))
    return planned


def _fingerprint(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _content(
    *,
    kind: str,
    phase: Phase,
    postings: Sequence[Posting],
    meta: Mapping[str, Any],
    timeout_at: datetime | None,
    resolves_id: uuid.UUID | None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "phase": phase.value,
        "postings": [[str(p.account_id), p.debit, p.credit] for p in postings],
        "meta": dict(meta),
        "timeout_at": timeout_at.isoformat() if timeout_at else None,
        "resolves_id": str(resolves_id) if resolves_id else None,
    }


async def load_entry(session: AsyncSession, entry_id: uuid.UUID) -> Entry | None:
    """The entry with its postings, in one round trip (an outer join: an entry may have
    none, as a void does)."""
    entries, postings = tables.entries.c, tables.postings.c
    rows = (
        await session.execute(
            select(
                tables.entries,
                postings.account_id.label("p_account_id"),
                postings.shard.label("p_shard"),
                postings.currency.label("p_currency"),
                postings.debit.label("p_debit"),
                postings.credit.label("p_credit"),
            )
            .select_from(tables.entries.outerjoin(tables.postings))
            .where(entries.id == entry_id)
            .order_by(postings.id)
        )
    ).mappings()
    found = list(rows)
    if not found:
        return None
    row = found[0]
    return Entry(
        id=row["id"],
        kind=row["kind"],
        phase=Phase(row["phase"]),
        resolves_id=row["resolves_id"],
        timeout_at=row["timeout_at"],
        meta=dict(row["meta"] or {}),
        created_at=row["created_at"],
        postings=tuple(
            PostingRecord(
                p["p_account_id"], p["p_shard"], p["p_currency"], p["p_debit"], p["p_credit"]
            )
            for p in found
            if p["p_account_id"] is not None
        ),
    )


@dataclass(frozen=True, slots=True)
class _Header:
    """Everything of an entry but its postings."""

    id: uuid.UUID
    kind: str
    phase: Phase
    resolves_id: uuid.UUID | None
    timeout_at: datetime | None
    meta: dict[str, Any]
    fingerprint: str
    created_at: datetime

    def entry(self, postings: tuple[PostingRecord, ...]) -> Entry:
        return Entry(
            self.id,
            self.kind,
            self.phase,
            self.resolves_id,
            self.timeout_at,
            self.meta,
            self.created_at,
            postings,
        )


async def _persist(
    session: AsyncSession,
    header: _Header,
    changes: Sequence[RowChange],
    planned: Sequence[_Planned],
) -> bool:
    """Write the entry, its balance changes and postings, first creating any account it uses
    that this process declared but has not seen written; False if the id (or the pending
    entry it resolves) is taken. PostgreSQL does it in one round trip (pg_fastpath)."""
    ensure = unconfirmed(item.account for item in planned)
    if is_postgres(session):
        written = await pg_fastpath.write(
            session,
            entry_id=header.id,
            kind=header.kind,
            phase=header.phase.value,
            resolves_id=header.resolves_id,
            timeout_at=header.timeout_at,
            meta=header.meta,
            fingerprint=header.fingerprint,
            created_at=header.created_at,
            changes=changes,
            postings=[item.record() for item in planned],
            ensure=ensure,
        )
        confirm(ensure)
        return written
    await ensure_accounts_portable(session, ensure)
    confirm(ensure)
    statement = insert_ignoring_conflicts(
        session,
        tables.entries,
        {
            "id": header.id,
            "kind": header.kind,
            "phase": header.phase.value,
            "resolves_id": header.resolves_id,
            "timeout_at": header.timeout_at,
            "meta": header.meta,
            "fingerprint": header.fingerprint,
            "created_at": header.created_at,
        },
    ).returning(tables.entries.c.id)
    if (await session.execute(statement)).scalar_one_or_none() is None:
        return False
    if header.resolves_id is not None:
        await session.execute(
            delete(tables.open_pending).where(tables.open_pending.c.entry_id == header.resolves_id)
        )
    await apply_changes(session, changes)
    await _append_postings(session, header.id, planned)
    if header.phase == Phase.PENDING:
        await session.execute(
            insert(tables.open_pending).values(entry_id=header.id, timeout_at=header.timeout_at)
        )
    return True


async def _replayed(session: AsyncSession, entry_id: uuid.UUID, fingerprint: str) -> Entry | None:
    """The stored entry with this id if its content is the same; EntryConflict if not."""
    stored = await session.scalar(
        select(tables.entries.c.fingerprint).where(tables.entries.c.id == entry_id)
    )
    if stored is None:
        return None
    if stored != fingerprint:
        raise EntryConflict(entry_id)
    return await load_entry(session, entry_id)


async def _append_postings(
    session: AsyncSession, entry_id: uuid.UUID, planned: Sequence[_Planned]
) -> None:
    if planned:
        await session.execute(
            insert(tables.postings),
            [
                {
                    "entry_id": entry_id,
                    "account_id": item.account.id,
                    "shard": item.shard,
                    "currency": item.account.currency,
                    "debit": item.debit,
                    "credit": item.credit,
                }
                for item in planned
            ],
        )
    await session.execute(insert(tables.unsealed).values(entry_id=entry_id))


async def write_entry(
    session: AsyncSession,
    *,
    entry_id: uuid.UUID,
    kind: str,
    postings: Sequence[Posting],
    phase: Phase = Phase.POSTED,
    meta: Mapping[str, Any] | None = None,
    timeout_at: datetime | None = None,
) -> Entry:
    """Write a single-phase (POSTED) or two-phase (PENDING) entry."""
    return await _write_one(session, EntrySpec(entry_id, kind, postings, phase, meta, timeout_at))


async def _prepare(
    session: AsyncSession, spec: EntrySpec
) -> tuple[_Header, list[RowChange], list[_Planned]]:
    """Validate and plan an entry: its header, balance changes and postings."""
    if spec.phase not in (Phase.POSTED, Phase.PENDING):
        raise InvalidEntry("use post_pending or void_pending to resolve a pending entry")
    timeout_at = spec.timeout_at
    if timeout_at is not None and (spec.phase != Phase.PENDING or timeout_at.tzinfo is None):
        raise InvalidEntry("only pending entries time out, at a timezone-aware time")
    _check_kind(spec.kind)
    _check_postings(spec.postings)
    meta = dict(spec.meta or {})
    scope_of(meta)  # a malformed tag scope is refused before anything is written
    accounts = await get_accounts(session, {p.account_id for p in spec.postings})
    planned = _plan(spec.entry_id, spec.postings, accounts)
    _check_balanced(planned)
    content = _content(
        kind=spec.kind,
        phase=spec.phase,
        postings=spec.postings,
        meta=meta,
        timeout_at=timeout_at,
        resolves_id=None,
    )
    pending = spec.phase == Phase.PENDING
    changes = [
        RowChange.of(item.account, item.shard, item.debit, item.credit, pending=pending)
        for item in planned
    ]
    header = _Header(
        spec.entry_id,
        spec.kind,
        spec.phase,
        None,
        timeout_at,
        meta,
        _fingerprint(content),
        utcnow(),
    )
    return header, changes, planned


async def _replay_or_conflict(session: AsyncSession, header: _Header) -> Entry:
    replayed = await _replayed(session, header.id, header.fingerprint)
    if replayed is None:
        raise EntryConflict(header.id)
    return replayed


async def _write_one(session: AsyncSession, spec: EntrySpec) -> Entry:
    header, changes, planned = await _prepare(session, spec)
    if not await _persist(session, header, changes, planned):
        return await _replay_or_conflict(session, header)
    return header.entry(tuple(item.record() for item in planned))


@dataclass(frozen=True, slots=True)
class EntrySpec:
    """One entry of a batch for `write_entries`."""

    entry_id: uuid.UUID
    kind: str
    postings: Sequence[Posting]
    phase: Phase = Phase.POSTED
    meta: Mapping[str, Any] | None = None
    timeout_at: datetime | None = None


async def _write_naming_failure(session: AsyncSession, spec: EntrySpec) -> Entry:
    """One entry of a batch; a refusal names it (as PostgreSQL's batch function does)."""
    try:
        return await _write_one(session, spec)
    except LedgerError as error:
        error.failed_entry_id = spec.entry_id
        raise


async def write_entries(session: AsyncSession, specs: Sequence[EntrySpec]) -> list[Entry]:
    """Write a batch of entries in the caller's transaction: all of them, or (on the first
    error) none, once the caller rolls back. On PostgreSQL the whole batch is one round trip
    that locks every row it touches in one ordered pass, so concurrent batches never
    deadlock; batching amortises the cost of a transaction over many entries."""
    if len(specs) > MAX_BATCH:
        raise InvalidEntry(f"a batch holds at most {MAX_BATCH} entries")
    if not is_postgres(session):
        return [await _write_naming_failure(session, spec) for spec in specs]
    prepared = [await _prepare(session, spec) for spec in specs]
    ensure = unconfirmed(
        {item.account.id: item.account for _, _, p in prepared for item in p}.values()
    )
    written = await pg_fastpath.write_many(
        session,
        [
            pg_fastpath.PlannedWrite(
                entry_id=header.id,
                kind=header.kind,
                phase=header.phase.value,
                resolves_id=None,
                timeout_at=header.timeout_at,
                meta=header.meta,
                fingerprint=header.fingerprint,
                created_at=header.created_at,
                changes=changes,
                postings=[item.record() for item in planned],
            )
            for header, changes, planned in prepared
        ],
        ensure=ensure,
    )
    confirm(ensure)
    entries = []
    for (header, _, planned), was_written in zip(prepared, written, strict=True):
        if was_written:
            entries.append(header.entry(tuple(item.record() for item in planned)))
        else:
            entries.append(await _replay_or_conflict(session, header))
    return entries


def _posted_part(pending: Entry, amount: int | None) -> list[PostingRecord]:
    """The postings that a post of `amount` (None = all) of the pending entry makes."""
    if amount is None:
        return list(pending.postings)
    if len(pending.postings) != 2:
        raise InvalidEntry("a partial post needs a pending entry of exactly two postings")
    held = max(pending.postings[0].debit, pending.postings[0].credit)
    if not isinstance(amount, int) or not 0 < amount <= held:
        raise InvalidEntry(f"a partial post must be between 1 and the {held} held")
    return [
        PostingRecord(
            p.account_id, p.shard, p.currency, amount if p.debit else 0, amount if p.credit else 0
        )
        for p in pending.postings
    ]


async def resolve_pending(
    session: AsyncSession,
    *,
    entry_id: uuid.UUID,
    pending_id: uuid.UUID,
    post: bool,
    amount: int | None = None,
    kind: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Entry:
    """Post (all or `amount`) or void a pending entry, exactly once."""
    pending = await load_entry(session, pending_id)
    if pending is None or pending.phase != Phase.PENDING:
        raise PendingNotOpen(pending_id, "not a pending entry")
    kind = kind or ("post_pending" if post else "void_pending")
    _check_kind(kind)
    meta = inherit_scope(pending.meta, dict(meta or {}))
    scope_of(meta)
    phase = Phase.POST if post else Phase.VOID
    posted = _posted_part(pending, amount) if post else []
    content = _content(
        kind=kind,
        phase=phase,
        postings=[Posting(p.account_id, p.debit, p.credit) for p in posted],
        meta=meta,
        timeout_at=None,
        resolves_id=pending_id,
    )
    fingerprint = _fingerprint(content)
    # A replay is found when the write finds its id taken (below), not by a read first:
    # the common case, a first resolution, costs no extra round trip.
    if post and pending.timeout_at is not None and pending.timeout_at <= utcnow():
        replayed = await _replayed(session, entry_id, fingerprint)
        if replayed is not None:
            return replayed
        raise PendingNotOpen(pending_id, "expired")
    accounts = await get_accounts(session, {p.account_id for p in pending.postings})
    changes = [
        RowChange.of(accounts[p.account_id], p.shard, -p.debit, -p.credit, pending=True)
        for p in pending.postings
    ] + [
        RowChange.of(accounts[p.account_id], p.shard, p.debit, p.credit, pending=False)
        for p in posted
    ]
    planned = [_Planned(accounts[p.account_id], p.shard, p.debit, p.credit) for p in posted]
    header = _Header(entry_id, kind, phase, pending_id, None, meta, fingerprint, utcnow())
    if not await _persist(session, header, changes, planned):
        replayed = await _replayed(session, entry_id, fingerprint)
        if replayed is not None:
            return replayed
        raise PendingNotOpen(pending_id, "already resolved")
    return header.entry(tuple(posted))


async def void_expired(session: AsyncSession, *, now: datetime, limit: int = 100) -> int:
    """Void pending entries whose timeout has passed; safe to run in many processes at once.

    Rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL), and the void's entry id is
    derived from the pending id, so a pending entry is voided once whoever gets there first.
    """
    query = (
        select(tables.open_pending.c.entry_id)
        .where(tables.open_pending.c.timeout_at <= now)
        .order_by(tables.open_pending.c.timeout_at)
        .limit(limit)
    )
    due = list((await session.scalars(skip_locked(session, query))).all())
    for pending_id in due:
        await resolve_pending(
            session,
            entry_id=derived_id(pending_id, "timeout"),
            pending_id=pending_id,
            post=False,
            kind="pending_timeout",
        )
    return len(due)
