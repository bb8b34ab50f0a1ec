"""The ledger's values: accounts, postings, entries and balances, as plain frozen data."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_AMOUNT = 2**63 - 1
# The most any account with a limit flag may hold, in minor units (pending credits
# included): one below 10^15, so one largest amount the API accepts fits into an empty
# account exactly, and thousands of full accounts still sum far inside a signed 64-bit
# integer (2^63 - 1 is about 9.2 x 10^18). Enforced in the write that checks the flags.
MAX_BALANCE = 10**15 - 1


class AccountFlags(enum.IntEnum):
    """Limits an account enforces on every write (TigerBeetle's names)."""

    NONE = 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1  # an asset held for someone: cannot go below zero
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2


class Phase(enum.StrEnum):
    POSTED = "posted"  # a single-phase entry, final at once
    PENDING = "pending"  # reserves amounts until posted or voided
    POST = "post"  # posts (all or part of) a pending entry
    VOID = "void"  # releases a pending entry


@dataclass(frozen=True, slots=True)
class Account:
    id: uuid.UUID
    code: str
    currency: str
    owner_ref: str
    flags: AccountFlags
    shards: int
    meta: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Posting:
    """One side of an entry: a debit or a credit of a positive amount on one account."""

    account_id: uuid.UUID
    debit: int = 0
    credit: int = 0

    @classmethod
    def debit_of(cls, account_id: uuid.UUID, amount: int) -> Posting:
        return cls(account_id=account_id, debit=amount)

    @classmethod
    def credit_of(cls, account_id: uuid.UUID, amount: int) -> Posting:
        return cls(account_id=account_id, credit=amount)


@dataclass(frozen=True, slots=True)
class PostingRecord:
    """A stored posting: the shard row it moved and its currency."""

    account_id: uuid.UUID
    shard: int
    currency: str
    debit: int
    credit: int


@dataclass(frozen=True, slots=True)
class Entry:
    id: uuid.UUID
    kind: str
    phase: Phase
    resolves_id: uuid.UUID | None
    timeout_at: datetime | None
    meta: dict[str, Any]
    created_at: datetime
    postings: tuple[PostingRecord, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Balance:
    """Sums of an account's postings, split into posted and pending, debits and credits."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    def __add__(self, other: Balance) -> Balance:
        return Balance(
            self.debits_posted + other.debits_posted,
            self.credits_posted + other.credits_posted,
            self.debits_pending + other.debits_pending,
            self.credits_pending + other.credits_pending,
        )

    @property
    def credit_balance(self) -> int:
        """Posted credits minus posted debits: what a liability account (a wallet) holds."""
        return self.credits_posted - self.debits_posted

    @property
    def available_credit(self) -> int:
        """What may still be debited under DEBITS_MUST_NOT_EXCEED_CREDITS."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def available_debit(self) -> int:
        """What may still be credited under CREDITS_MUST_NOT_EXCEED_DEBITS."""
        return self.debits_posted - self.credits_posted - self.credits_pending


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One posted movement of an account, signed from the account's credit side."""

    posting_id: int
    entry_id: uuid.UUID
    kind: str
    amount: int
    balance_after: int
    created_at: datetime
    meta: dict[str, Any]
