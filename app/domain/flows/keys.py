"""Names of the nodes of the funding-flow graph, as stored in the rollup.

A node key is `kind:id`. Funders of anonymous pledges share one key, so the rollup itself
never records who they are. Two sinks that are not graph nodes close the books of a
challenge: money returned to funders' wallets and money rolled over into another challenge.
"""

from __future__ import annotations

import uuid

ANONYMOUS = "funder:anonymous"
RETURNED = "out:returned"
ROLLED_OVER = "out:rolled_over"


def funder(org_id: uuid.UUID | str, anonymous: bool) -> str:
    return ANONYMOUS if anonymous else f"funder:{org_id}"


def challenge(challenge_id: uuid.UUID | str) -> str:
    return f"challenge:{challenge_id}"


def milestone(milestone_id: uuid.UUID | str) -> str:
    return f"milestone:{milestone_id}"


def actor(org_id: uuid.UUID | str) -> str:
    return f"actor:{org_id}"


def verifier(org_id: uuid.UUID | str) -> str:
    return f"verifier:{org_id}"


def host(org_id: uuid.UUID | str) -> str:
    return f"host:{org_id}"


def split(key: str) -> tuple[str, str]:
    """`funder:…` -> ("funder", "…"); the anonymous funder's id is "anonymous"."""
    kind, _, ident = key.partition(":")
    return kind, ident
