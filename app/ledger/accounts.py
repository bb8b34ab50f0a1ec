"""Opening and finding accounts. Accounts never change once opened, so they are cached."""

from __future__ import annotations

import functools
import re
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger import tables
from app.ledger.errors import AccountConflict, AccountNotFound, InvalidEntry
from app.ledger.model import Account, AccountFlags
from app.sql.dialect import insert_ignoring_conflicts
from app.sql.types import utcnow

MAX_SHARDS = 64
_CODE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CACHE_SIZE = 50_000

ACCOUNT_NAMESPACE = uuid.UUID("0b7d2a52-6a41-4a8e-9b53-5f0c1c7e2d11")

# Accounts are immutable, so a row read once is valid for the life of the process; opening
# a known account then costs no query. An account cached from a transaction that rolled back
# has no balance row: a write to it raises BalanceRowMissing, which drops it from the cache
# and makes the unit of work start over (app/sql/transactions.py).
_cache: OrderedDict[uuid.UUID, Account] = OrderedDict()
_by_key: dict[tuple[str, str, str], uuid.UUID] = {}
# Declared accounts (`declare_account`) this process has not yet seen written: the next
# write that uses one creates it in the same round trip (entries.py).
_unconfirmed: set[uuid.UUID] = set()


@functools.lru_cache(maxsize=1 << 16)
def account_id_for(code: str, currency: str, owner_ref: str) -> uuid.UUID:
    """Account ids are derived from the natural key, so every process agrees on them.

    Cached: an award or payout over 10,000 pledges names each pledge's accounts several
    times, and a SHA-1 per name was a tenth of its time."""
    return uuid.uuid5(ACCOUNT_NAMESPACE, f"{code}\x1f{currency}\x1f{owner_ref}")


def forget_account(account_id: uuid.UUID) -> None:
    account = _cache.pop(account_id, None)
    _unconfirmed.discard(account_id)
    if account is not None:
        _by_key.pop((account.code, account.currency, account.owner_ref), None)


def forget_all_accounts() -> None:
    """Drop the process's cache (tests that wipe the database behind the ledger's back)."""
    _cache.clear()
    _by_key.clear()
    _unconfirmed.clear()


def declare_account(
    *, code: str, currency: str, owner_ref: str, flags: AccountFlags, shards: int
) -> Account:
    """The account with this natural key, without a query: its id is derived, and if the
    database does not have it yet, the first write that uses it creates it (in the same
    round trip). Declaring it with other flags or shards than a known account is an
    AccountConflict, as opening it would be."""
    _validate(code, currency, owner_ref, shards)
    known = _by_key.get((code, currency, owner_ref))
    account = _cache.get(known) if known is not None else None
    if account is None:
        account = Account(
            id=account_id_for(code, currency, owner_ref),
            code=code,
            currency=currency,
            owner_ref=owner_ref,
            flags=flags,
            shards=shards,
            meta={},
            created_at=utcnow(),
        )
        _remember(account)
        _unconfirmed.add(account.id)
    elif account.flags != flags or account.shards != shards:
        raise AccountConflict(
            f"account {code}/{currency}/{owner_ref} exists with flags {account.flags.name} "
            f"and {account.shards} shards"
        )
    return account


def unconfirmed(accounts: Iterable[Account]) -> list[Account]:
    """Those of these accounts that a write must make sure exist, by id."""
    return sorted((a for a in accounts if a.id in _unconfirmed), key=lambda a: a.id)


def confirm(accounts: Iterable[Account]) -> None:
    """These accounts were written (if their transaction rolls back after all, the next
    write finds no balance row: BalanceRowMissing forgets them and the work starts over)."""
    for account in accounts:
        _unconfirmed.discard(account.id)


async def ensure_accounts_portable(session: AsyncSession, accounts: list[Account]) -> None:
    """Create these accounts if missing, with their balance rows (the engines without the
    server-side function); an existing one with other flags or shards is AccountConflict."""
    if not accounts:
        return
    inserted = await session.execute(
        insert_ignoring_conflicts(
            session,
            tables.accounts,
            [
                {
                    "id": a.id,
                    "code": a.code,
                    "currency": a.currency,
                    "owner_ref": a.owner_ref,
                    "flags": int(a.flags),
                    "shards": a.shards,
                    "meta": {},
                    "created_at": a.created_at,
                }
                for a in accounts
            ],
        ).returning(tables.accounts.c.id)
    )
    made = set(inserted.scalars())
    rows = [
        {
            "account_id": a.id,
            "shard": shard,
            "debits_posted": 0,
            "credits_posted": 0,
            "debits_pending": 0,
            "credits_pending": 0,
        }
        for a in accounts
        if a.id in made
        for shard in range(a.shards)
    ]
    if rows:
        await session.execute(insert(tables.balances), rows)
    existing = [a for a in accounts if a.id not in made]
    if existing:
        stored = await session.execute(
            select(tables.accounts.c.id, tables.accounts.c.flags, tables.accounts.c.shards).where(
                tables.accounts.c.id.in_([a.id for a in existing])
            )
        )
        wanted = {a.id: (int(a.flags), a.shards) for a in existing}
        for account_id, flags, shards in stored:
            if wanted[account_id] != (flags, shards):
                forget_account(account_id)
                raise AccountConflict(f"account {account_id} exists with other flags or shards")


def _account(row: RowMapping) -> Account:
    return Account(
        id=row["id"],
        code=row["code"],
        currency=row["currency"],
        owner_ref=row["owner_ref"],
        flags=AccountFlags(row["flags"]),
        shards=row["shards"],
        meta=dict(row["meta"] or {}),
        created_at=row["created_at"],
    )


def _remember(account: Account) -> Account:
    _cache[account.id] = account
    _by_key[(account.code, account.currency, account.owner_ref)] = account.id
    while len(_cache) > _CACHE_SIZE:
        forget_account(next(iter(_cache)))
    return account


def _validate(code: str, currency: str, owner_ref: str, shards: int) -> None:
    if not _CODE.match(code):
        raise InvalidEntry(f"account code {code!r} must be 1-64 lowercase characters")
    if not _CURRENCY.match(currency):
        raise InvalidEntry(f"currency {currency!r} must be three capital letters")
    if not 1 <= len(owner_ref) <= 200:
        raise InvalidEntry("owner_ref must be 1-200 characters")
    if not 1 <= shards <= MAX_SHARDS:
        raise InvalidEntry(f"shards must be between 1 and {MAX_SHARDS}")


async def find_account(
    session: AsyncSession, *, code: str, currency: str, owner_ref: str
) -> Account | None:
    row = (
        (
            await session.execute(
                select(tables.accounts).where(
                    tables.accounts.c.code == code,
                    tables.accounts.c.currency == currency,
                    tables.accounts.c.owner_ref == owner_ref,
                )
            )
        )
        .mappings()
        .one_or_none()
    )
    return _remember(_account(row)) if row is not None else None


async def open_account(
    session: AsyncSession,
    *,
    code: str,
    currency: str,
    owner_ref: str,
    flags: AccountFlags = AccountFlags.NONE,
    shards: int = 1,
    meta: Mapping[str, Any] | None = None,
) -> Account:
    """Open the account with this (code, currency, owner_ref), or return the one that exists.

    Idempotent and safe under concurrency: two processes opening the same account get the
    same row. Asking again with other flags or shards is an error, never a silent change.
    """
    _validate(code, currency, owner_ref, shards)
    cached = _by_key.get((code, currency, owner_ref))
    # A declared account the process has not seen written may not exist yet: look it up.
    known = cached is not None and cached not in _unconfirmed
    existing = _cache.get(cached) if known and cached is not None else None
    if existing is None:
        existing = await find_account(session, code=code, currency=currency, owner_ref=owner_ref)
    if existing is None:
        account_id = account_id_for(code, currency, owner_ref)
        inserted = await session.execute(
            insert_ignoring_conflicts(
                session,
                tables.accounts,
                {
                    "id": account_id,
                    "code": code,
                    "currency": currency,
                    "owner_ref": owner_ref,
                    "flags": int(flags),
                    "shards": shards,
                    "meta": dict(meta or {}),
                    "created_at": utcnow(),
                },
            ).returning(tables.accounts.c.id)
        )
        if inserted.scalar_one_or_none() == account_id:
            await session.execute(
                insert(tables.balances),
                [
                    {
                        "account_id": account_id,
                        "shard": shard,
                        "debits_posted": 0,
                        "credits_posted": 0,
                        "debits_pending": 0,
                        "credits_pending": 0,
                    }
                    for shard in range(shards)
                ],
            )
        existing = await find_account(session, code=code, currency=currency, owner_ref=owner_ref)
    if existing is None:
        raise AccountConflict(f"account {code}/{currency}/{owner_ref} could not be opened")
    if existing.flags != flags or existing.shards != shards:
        raise AccountConflict(
            f"account {code}/{currency}/{owner_ref} exists with flags {existing.flags.name} "
            f"and {existing.shards} shards"
        )
    return existing


async def accounts_of(session: AsyncSession, *, code: str, owner_ref: str) -> list[Account]:
    """Every account with this code and owner, one per currency, ordered by currency."""
    rows = (
        (
            await session.execute(
                select(tables.accounts)
                .where(tables.accounts.c.code == code, tables.accounts.c.owner_ref == owner_ref)
                .order_by(tables.accounts.c.currency)
            )
        )
        .mappings()
        .all()
    )
    return [_remember(_account(row)) for row in rows]


async def get_accounts(
    session: AsyncSession, account_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Account]:
    """The accounts with these ids (from the cache when possible); AccountNotFound if any
    is missing."""
    wanted = set(account_ids)
    found = {account_id: _cache[account_id] for account_id in wanted if account_id in _cache}
    missing = wanted - found.keys()
    if missing:
        rows = (
            (
                await session.execute(
                    select(tables.accounts).where(tables.accounts.c.id.in_(missing))
                )
            )
            .mappings()
            .all()
        )
        for row in rows:
            found[row["id"]] = _remember(_account(row))
    for account_id in wanted:
        if account_id not in found:
            raise AccountNotFound(account_id)
    return found


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    return (await get_accounts(session, [account_id]))[account_id]


async def open_accounts(
    session: AsyncSession,
    *,
    code: str,
    currency: str,
    owner_refs: Iterable[str],
    flags: AccountFlags = AccountFlags.NONE,
) -> dict[str, Account]:
    """Open many single-shard accounts of one kind at once (or return those that exist),
    in a few set-based statements rather than three round trips each. Same guarantees as
    `open_account`: idempotent, safe under concurrency, never a silent change of flags."""
    refs = list(dict.fromkeys(owner_refs))
    for ref in refs:
        _validate(code, currency, ref, 1)
    ids = {ref: account_id_for(code, currency, ref) for ref in refs}
    known = {ref: _cache[i] for ref, i in ids.items() if i in _cache and i not in _unconfirmed}
    missing = [ref for ref in refs if ref not in known]
    for start in range(0, len(missing), 1000):
        batch = missing[start : start + 1000]
        now = utcnow()
        inserted = await session.execute(
            insert_ignoring_conflicts(
                session,
                tables.accounts,
                [
                    {
                        "id": ids[ref],
                        "code": code,
                        "currency": currency,
                        "owner_ref": ref,
                        "flags": int(flags),
                        "shards": 1,
                        "meta": {},
                        "created_at": now,
                    }
                    for ref in batch
                ],
            ).returning(tables.accounts.c.id)
        )
        fresh = list(inserted.scalars())
        if fresh:
            await session.execute(
                insert(tables.balances),
                [
                    {
                        "account_id": account_id,
                        "shard": 0,
                        "debits_posted": 0,
                        "credits_posted": 0,
                        "debits_pending": 0,
                        "credits_pending": 0,
                    }
                    for account_id in fresh
                ],
            )
    found = await get_accounts(session, [ids[ref] for ref in missing]) if missing else {}
    opened = {**known, **{ref: found[ids[ref]] for ref in missing}}
    for ref, account in opened.items():
        if account.flags != flags or account.shards != 1:
            raise AccountConflict(
                f"account {code}/{currency}/{ref} exists with flags {account.flags.name} "
                f"and {account.shards} shards"
            )
    return opened
