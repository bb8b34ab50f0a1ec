"""Errors of the ledger. Callers (the market) translate them into their own terms."""

from __future__ import annotations

import uuid

from app.sql.transactions import TransientError


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose. Raised by a batch write, it names
    in `failed_entry_id` the entry of the batch that failed (None outside batches)."""

    failed_entry_id: uuid.UUID | None = None


class InvalidEntry(LedgerError):
    """The entry is malformed: unbalanced, too few postings, bad amounts, mixed currency."""


class AccountNotFound(LedgerError):
    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"ledger account {account_id} does not exist")
        self.account_id = account_id


class TransientLedgerError(LedgerError, TransientError):
    """The unit of work met a state that a fresh attempt will not: retry it from the start."""


class BalanceRowMissing(AccountNotFound, TransientLedgerError):
    """A cached account has no balance row: its creating transaction rolled back. The cache
    entry is dropped; the retried unit of work opens the account anew."""


class AccountConflict(LedgerError):
    """An account with this natural key exists with different flags or shards."""


class EntryConflict(LedgerError):
    """An entry with this id exists with different content: a retry must be identical."""

    def __init__(self, entry_id: uuid.UUID) -> None:
        super().__init__(f"entry {entry_id} already exists with different content")
        self.entry_id = entry_id


class LimitExceeded(LedgerError):
    """A posting would break an account's flag (e.g. spend more than it holds)."""

    def __init__(self, account_id: uuid.UUID, available: int, requested: int) -> None:
        super().__init__(
            f"account {account_id} has {available} available; {requested} was requested"
        )
        self.account_id = account_id
        self.available = available
        self.requested = requested


class BalanceLimitExceeded(LedgerError):
    """A credit would take a limited account past MAX_BALANCE (model.py). `balance` is what
    it holds now, pending credits included; `requested` what this write would add."""

    def __init__(self, account_id: uuid.UUID, balance: int, requested: int, limit: int) -> None:
        super().__init__(
            f"account {account_id} holds {balance}; adding {requested} would pass the limit "
            f"of {limit}"
        )
        self.account_id = account_id
        self.balance = balance
        self.requested = requested
        self.limit = limit


class PendingNotOpen(LedgerError):
    """The pending entry was already posted or voided, or never was pending."""

    def __init__(self, entry_id: uuid.UUID, state: str) -> None:
        super().__init__(f"pending entry {entry_id} is {state}")
        self.entry_id = entry_id
        self.state = state


class LedgerInvariantError(LedgerError):
    """An invariant that must hold by construction did not: a bug, never a user error."""
