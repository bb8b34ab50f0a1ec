"""A general double-entry ledger: accounts, balanced journal entries, two-phase transfers.

It knows nothing of challenges or pledges and imports nothing from the rest of Tributary, so
it could be lifted into its own package. `Ledger(session)` is its public face; every method
works inside the caller's transaction and never commits. An entry whose `meta` names a
`TAG_SCOPE` is sealed with account tags private to that scope (tags.py): the caller's way
to keep some movements unlinkable to the rest of the public log.

    ledger = Ledger(session)
    wallet = await ledger.open_account(code="wallet", currency="USD", owner_ref="org:1",
                                       flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    await ledger.transfer(entry_id=uuid4(), debit_account_id=world.id,
                          credit_account_id=wallet.id, amount=1250, kind="deposit")
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.ledger import accounts as _accounts
from app.ledger import balances as _balances
from app.ledger import entries as _entries
from app.ledger import seal as _seal
from app.ledger.entries import EntrySpec
from app.ledger.errors import (
    AccountConflict,
    AccountNotFound,
    BalanceLimitExceeded,
    EntryConflict,
    InvalidEntry,
    LedgerError,
    LedgerInvariantError,
    LimitExceeded,
    PendingNotOpen,
)
from app.ledger.ids import derived_id
from app.ledger.lines import PostedLine
from app.ledger.lines import posted_lines as _posted_lines
from app.ledger.model import (
    MAX_BALANCE,
    Account,
    AccountFlags,
    Balance,
    Entry,
    HistoryLine,
    Phase,
    Posting,
    PostingRecord,
)
from app.ledger.seal import InclusionProof, NotSealed, TreeHead
from app.ledger.signing import TreeSigner, new_seed_b64
from app.ledger.tags import TAG_SCOPE
from app.ledger.verify import VerifyReport, verify

__all__ = [
    "MAX_BALANCE",
    "TAG_SCOPE",
    "Account",
    "AccountConflict",
    "AccountFlags",
    "AccountNotFound",
    "Balance",
    "BalanceLimitExceeded",
    "Entry",
    "EntryConflict",
    "EntrySpec",
    "HistoryLine",
    "InclusionProof",
    "InvalidEntry",
    "Ledger",
    "LedgerError",
    "LedgerInvariantError",
    "LimitExceeded",
    "NotSealed",
    "PendingNotOpen",
    "Phase",
    "PostedLine",
    "Posting",
    "PostingRecord",
    "TreeHead",
    "TreeSigner",
    "VerifyReport",
    "derived_id",
    "new_seed_b64",
    "verify",
]


class Ledger:
    """The ledger's operations, bound to one session (one unit of work)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_account(
        self,
        *,
        code: str,
        currency: str,
        owner_ref: str,
        flags: AccountFlags = AccountFlags.NONE,
        shards: int = 1,
        meta: Mapping[str, Any] | None = None,
    ) -> Account:
        return await _accounts.open_account(
            self.session,
            code=code,
            currency=currency,
            owner_ref=owner_ref,
            flags=flags,
            shards=shards,
            meta=meta,
        )

    async def open_accounts(
        self,
        *,
        code: str,
        currency: str,
        owner_refs: Iterable[str],
        flags: AccountFlags = AccountFlags.NONE,
    ) -> dict[str, Account]:
        """Open many single-shard accounts of one code and currency at once, by owner_ref."""
        return await _accounts.open_accounts(
            self.session, code=code, currency=currency, owner_refs=owner_refs, flags=flags
        )

    @staticmethod
    def declare_account(
        *,
        code: str,
        currency: str,
        owner_ref: str,
        flags: AccountFlags = AccountFlags.NONE,
        shards: int = 1,
    ) -> Account:
        """The account with this natural key, known without a query: created by the first
        write that uses it, in the same round trip."""
        return _accounts.declare_account(
            code=code, currency=currency, owner_ref=owner_ref, flags=flags, shards=shards
        )

    async def find_account(self, *, code: str, currency: str, owner_ref: str) -> Account | None:
        return await _accounts.find_account(
            self.session, code=code, currency=currency, owner_ref=owner_ref
        )

    async def accounts_of(self, *, code: str, owner_ref: str) -> list[Account]:
        return await _accounts.accounts_of(self.session, code=code, owner_ref=owner_ref)

    @staticmethod
    def account_id_for(*, code: str, currency: str, owner_ref: str) -> uuid.UUID:
        """The id the account with this natural key has (or will have once opened)."""
        return _accounts.account_id_for(code, currency, owner_ref)

    async def debited_by_kind(self, account_ids: Iterable[uuid.UUID], kinds: Iterable[str]) -> int:
        """Posted debits of these accounts by entries of these kinds (e.g. refunds)."""
        return await _balances.debited_by_kind(self.session, account_ids, kinds)

    async def debited_by_kind_each(
        self, account_ids: Iterable[uuid.UUID], kinds: Iterable[str]
    ) -> dict[uuid.UUID, int]:
        """Posted debits of each of these accounts by entries of these kinds."""
        return await _balances.debited_by_kind_each(self.session, account_ids, kinds)

    async def nonzero_of_code(self, code: str) -> list[tuple[str, str, Balance]]:
        """(owner_ref, currency, balance) of the accounts of this code that hold anything."""
        return await _balances.nonzero_of_code(self.session, code)

    async def posted_lines(
        self, codes: Sequence[str], kinds: Sequence[str] | None = None
    ) -> list[PostedLine]:
        """Every posted line of accounts with these codes, for audits and reconciliations."""
        return await _posted_lines(self.session, codes, kinds)

    async def get_account(self, account_id: uuid.UUID) -> Account:
        return await _accounts.get_account(self.session, account_id)

    async def post_entry(
        self,
        *,
        entry_id: uuid.UUID,
        kind: str,
        postings: Sequence[Posting],
        meta: Mapping[str, Any] | None = None,
    ) -> Entry:
        """A balanced, final entry of two or more postings."""
        return await _entries.write_entry(
            self.session, entry_id=entry_id, kind=kind, postings=postings, meta=meta
        )

    async def post_entries(self, specs: Sequence[EntrySpec]) -> list[Entry]:
        """A batch of entries, locked in one ordered pass: all succeed, or the first error
        is raised (then roll the transaction back)."""
        return await _entries.write_entries(self.session, specs)

    async def transfer(
        self,
        *,
        entry_id: uuid.UUID,
        debit_account_id: uuid.UUID,
        credit_account_id: uuid.UUID,
        amount: int,
        kind: str,
        meta: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Move `amount` from the debited to the credited account, final at once."""
        return await self.post_entry(
            entry_id=entry_id,
            kind=kind,
            postings=_pair(debit_account_id, credit_account_id, amount),
            meta=meta,
        )

    async def hold(
        self,
        *,
        entry_id: uuid.UUID,
        debit_account_id: uuid.UUID,
        credit_account_id: uuid.UUID,
        amount: int,
        kind: str,
        timeout_at: datetime | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Reserve `amount` as a pending transfer, to be posted or voided exactly once."""
        return await self.hold_entry(
            entry_id=entry_id,
            kind=kind,
            postings=_pair(debit_account_id, credit_account_id, amount),
            timeout_at=timeout_at,
            meta=meta,
        )

    async def hold_entry(
        self,
        *,
        entry_id: uuid.UUID,
        kind: str,
        postings: Sequence[Posting],
        timeout_at: datetime | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Entry:
        return await _entries.write_entry(
            self.session,
            entry_id=entry_id,
            kind=kind,
            postings=postings,
            phase=Phase.PENDING,
            timeout_at=timeout_at,
            meta=meta,
        )

    async def post_pending(
        self,
        *,
        entry_id: uuid.UUID,
        pending_id: uuid.UUID,
        amount: int | None = None,
        kind: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Post all of a pending entry, or `amount` of a two-posting one (the rest is
        released)."""
        return await _entries.resolve_pending(
            self.session,
            entry_id=entry_id,
            pending_id=pending_id,
            post=True,
            amount=amount,
            kind=kind,
            meta=meta,
        )

    async def void_pending(
        self,
        *,
        entry_id: uuid.UUID,
        pending_id: uuid.UUID,
        kind: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Release everything a pending entry reserved."""
        return await _entries.resolve_pending(
            self.session, entry_id=entry_id, pending_id=pending_id, post=False, kind=kind, meta=meta
        )

    async def get_entry(self, entry_id: uuid.UUID) -> Entry | None:
        return await _entries.load_entry(self.session, entry_id)

    async def balance(self, account_id: uuid.UUID) -> Balance:
        return await _balances.balance(self.session, account_id)

    async def balances(self, account_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Balance]:
        return await _balances.balances(self.session, account_ids)

    async def history(
        self, account_id: uuid.UUID, *, after_posting_id: int | None = None, limit: int = 100
    ) -> list[HistoryLine]:
        return await _balances.history(
            self.session, account_id, after_posting_id=after_posting_id, limit=limit
        )

    async def void_expired(self, *, now: datetime, limit: int = 100) -> int:
        return await _entries.void_expired(self.session, now=now, limit=limit)

    async def seal_pending(self, signer: TreeSigner, *, now: datetime) -> int:
        """Append committed, unsealed entries to the public log and sign its new head."""
        return await _seal.seal_pending(self.session, signer, now=now)

    async def latest_tree_head(self) -> TreeHead | None:
        return await _seal.latest_tree_head(self.session)

    async def tree_head_at(self, tree_size: int) -> TreeHead | None:
        return await _seal.tree_head_at(self.session, tree_size)

    async def tree_heads(self, *, below_size: int | None = None, limit: int) -> list[TreeHead]:
        """Signed tree heads, newest (largest) first, of fewer than `below_size` leaves when
        given: the sizes at which heads, proofs and consistency proofs can be asked for."""
        return await _seal.tree_heads(self.session, below_size=below_size, limit=limit)

    async def inclusion_proof(
        self, entry_id: uuid.UUID, *, tree_size: int | None = None
    ) -> InclusionProof:
        """The entry's audit path in the log of `tree_size` leaves; NotSealed if absent."""
        return await _seal.inclusion_proof(self.session, entry_id, tree_size_at=tree_size)

    async def consistency_proof(self, first: int, second: int) -> list[str]:
        return await _seal.consistency_proof(self.session, first, second)

    async def verify(self) -> VerifyReport:
        return await verify(self.session)


def _pair(debit_account_id: uuid.UUID, credit_account_id: uuid.UUID, amount: int) -> list[Posting]:
    return [
        Posting.debit_of(debit_account_id, amount),
        Posting.credit_of(credit_account_id, amount),
    ]
