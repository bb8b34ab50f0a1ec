"""The sealed ledger as the public sees it: tree heads, the signing key, and proofs.

Thin on purpose: the Merkle log is the ledger's (`Ledger.inclusion_proof` and friends); its
`NotSealed` ("not in the log yet") is answered 404 `not_sealed` by the API. This layer says
which key signs the heads. On a
deployment without a signing key every read here is 404 `sealing_off`, even if heads were
signed before the key was removed: `not_sealed` means "wait", and waiting would never help,
and no key is published to check old heads against.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import DomainError, NotFound, Unprocessable

__all__ = [
    "NotSealed",
    "SealingOff",
    "consistency_proof",
    "inclusion_proof",
    "public_key",
    "tree_head",
    "tree_heads",
]
from app.ledger import InclusionProof, Ledger, NotSealed, TreeHead, TreeSigner

ALGORITHM = "ed25519"


class SealingOff(NotFound):
    """This deployment does not seal (no signing key, or sealing turned off)."""

    code = "sealing_off"

    def __init__(self) -> None:
        DomainError.__init__(
            self,
            "This deployment does not seal its ledger (no signing key is configured, or "
            "sealing is turned off): it publishes no signed log.",
        )


def _sealing(signer: TreeSigner | None) -> TreeSigner:
    if signer is None:
        raise SealingOff()
    return signer


def public_key(signer: TreeSigner | None) -> dict[str, str]:
    return {"algorithm": ALGORITHM, "public_key": _sealing(signer).public_key_b64}


async def tree_head(
    session: AsyncSession, signer: TreeSigner | None, tree_size: int | None
) -> TreeHead:
    """The latest signed tree head, or the one signed at exactly `tree_size` leaves."""
    _sealing(signer)
    if tree_size is None:
        head = await Ledger(session).latest_tree_head()
        if head is None:
            raise NotSealed("No entry has been sealed yet.")
        return head
    head = await Ledger(session).tree_head_at(tree_size)
    if head is None:
        raise NotSealed(f"No tree head was signed at tree size {tree_size}.")
    return head


async def tree_heads(
    session: AsyncSession, signer: TreeSigner | None, *, below_size: int | None, limit: int
) -> list[TreeHead]:
    """Every signed tree head, newest first, so a client picks sizes instead of guessing;
    an empty list before anything is sealed (a list is never "not yet")."""
    _sealing(signer)
    return await Ledger(session).tree_heads(below_size=below_size, limit=limit)


async def inclusion_proof(
    session: AsyncSession, signer: TreeSigner | None, entry_id: uuid.UUID, tree_size: int | None
) -> InclusionProof:
    _sealing(signer)
    return await Ledger(session).inclusion_proof(entry_id, tree_size=tree_size)


async def consistency_proof(
    session: AsyncSession, signer: TreeSigner | None, first: int, second: int
) -> list[str]:
    if first > second:
        raise Unprocessable(
            f"first ({first}) must not exceed second ({second}).", code="invalid_tree_sizes"
        )
    _sealing(signer)
    return await Ledger(session).consistency_proof(first, second)
