"""The chart of accounts: which ledger account holds which money (DESIGN.md).

Per currency: `world` is money outside the platform (unlimited, sharded so a deposit storm
does not queue on one row); `wallet` is an organisation's available money; `pledge` is one
pledge's money not yet allocated; `escrow` is one pledge's money reserved for one awarded
milestone; `fee_escrow` is one pledge's money reserved for one milestone's verifier fees.
Every account but `world` can never go below zero. Account ids derive from their
natural keys, so every account here is known without a query: the ledger creates it with
the first write that uses it (`Ledger.declare_account`).
"""

from __future__ import annotations

import uuid
from typing import Protocol

from app.ledger import TAG_SCOPE, Account, AccountFlags, Ledger

WORLD_SHARDS = 16
WALLET_SHARDS = 8  # credits (deposits, payouts) spread out; debits lock all eight


def org_ref(org_id: uuid.UUID) -> str:
    return f"org:{org_id}"


def world(currency: str) -> Account:
    return Ledger.declare_account(
        code="world", currency=currency, owner_ref="platform", shards=WORLD_SHARDS
    )


def wallet(org_id: uuid.UUID, currency: str) -> Account:
    return Ledger.declare_account(
        code="wallet",
        currency=currency,
        owner_ref=org_ref(org_id),
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        shards=WALLET_SHARDS,
    )


async def wallets(ledger: Ledger, org_id: uuid.UUID) -> list[Account]:
    return await ledger.accounts_of(code="wallet", owner_ref=org_ref(org_id))


def pledge_ref(pledge_id: uuid.UUID) -> str:
    return f"pledge:{pledge_id}"


def pledge_account_id(pledge_id: uuid.UUID, currency: str) -> uuid.UUID:
    """The pledge's account id, known without a query (ids derive from natural keys)."""
    return Ledger.account_id_for(code="pledge", currency=currency, owner_ref=pledge_ref(pledge_id))


def pledge_account(pledge_id: uuid.UUID, currency: str) -> Account:
    """Money committed by one pledge and not yet allocated: never below zero."""
    return Ledger.declare_account(
        code="pledge",
        currency=currency,
        owner_ref=pledge_ref(pledge_id),
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )


class PledgeLike(Protocol):
    """What the chart needs of a pledge (the money area does not import the pledges one)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def anonymous(self) -> bool: ...


def pledge_privacy(pledge: PledgeLike) -> dict[str, str]:
    """Entry meta for a movement between a pledge's account and its funder's wallet.

    An anonymous pledge's movements are sealed with account tags private to the pledge, so
    the public log shows its own entries moving the same accounts but never the wallet tag
    of the funder's named entries (API.md, "The public ledger log"). Entries that never
    touch the funder's wallet (awards, payouts, escrow returns, rollovers) need nothing: a
    pledge's own accounts name no one. Posts and voids of a pledge's hold inherit it.
    """
    return {TAG_SCOPE: pledge_ref(pledge.id)} if pledge.anonymous else {}


def escrow_ref(milestone_id: uuid.UUID, pledge_id: uuid.UUID) -> str:
    return f"escrow:{milestone_id}:{pledge_id}"


def escrow_account_id(milestone_id: uuid.UUID, pledge_id: uuid.UUID, currency: str) -> uuid.UUID:
    return Ledger.account_id_for(
        code="escrow", currency=currency, owner_ref=escrow_ref(milestone_id, pledge_id)
    )


def fee_escrow_ref(milestone_id: uuid.UUID, pledge_id: uuid.UUID) -> str:
    return f"fee_escrow:{milestone_id}:{pledge_id}"


def fee_escrow_account_id(
    milestone_id: uuid.UUID, pledge_id: uuid.UUID, currency: str
) -> uuid.UUID:
    return Ledger.account_id_for(
        code="fee_escrow", currency=currency, owner_ref=fee_escrow_ref(milestone_id, pledge_id)
    )


def fee_escrow_account(milestone_id: uuid.UUID, pledge_id: uuid.UUID, currency: str) -> Account:
    """One pledge's money reserved for the verifier fees of one milestone: never below 0."""
    return Ledger.declare_account(
        code="fee_escrow",
        currency=currency,
        owner_ref=fee_escrow_ref(milestone_id, pledge_id),
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )


def escrow_accounts(
    milestone_id: uuid.UUID, pledge_ids: list[uuid.UUID], currency: str
) -> dict[uuid.UUID, Account]:
    """The escrow accounts of many pledges for one milestone (created by the award's write)."""
    return {
        pid: Ledger.declare_account(
            code="escrow",
            currency=currency,
            owner_ref=escrow_ref(milestone_id, pid),
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        )
        for pid in pledge_ids
    }


def bonus_ref(bonus_id: uuid.UUID) -> str:
    return f"bonus:{bonus_id}"


def bonus_account(bonus_id: uuid.UUID, currency: str) -> Account:
    """An assurance bonus's escrow (its sponsor's money until paid or returned): never
    below zero, so a bonus can never pay more than was escrowed."""
    return Ledger.declare_account(
        code="bonus",
        currency=currency,
        owner_ref=bonus_ref(bonus_id),
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )
