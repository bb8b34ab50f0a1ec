"""The funding-flow totals that the journal implies, computed from posted ledger lines alone.

This is the definition the rollup is checked against (and how it is rebuilt): it reads
nothing but the ledger's own lines plus which pledge belongs to which challenge and funder.

- funder -> challenge: money posted into the challenge's pledge accounts from a wallet (or
  rolled over from another challenge), i.e. every credit of a pledge account except escrow
  returns;
- challenge -> milestone: money moved into the milestone's escrow accounts, net of what
  came back to the pledges (so: paid out plus still in escrow);
  (and into its fee escrow for verifier fees);
- milestone -> actor: payout credits to actors' wallets; milestone -> verifier: verifier
  fees credited to verifiers' wallets;
- challenge -> host: the host fee taken from pledges as their money commits;
- challenge -> returned / rolled over: money that left the challenge back to wallets, or
  into a pledge of another challenge.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.domain.flows import keys
from app.domain.money.kinds import (
    AWARD,
    ESCROW_RETURN,
    FEE_ESCROW,
    FEE_PAYMENT,
    FEE_RETURN,
    HOST_FEE,
    PAYOUT,
    RETURN_KINDS,
)
from app.domain.money.kinds import PLEDGE_ROLLOVER as ROLLOVER
from app.domain.store.pledges import PledgeOwner

CODES = ("pledge", "escrow", "fee_escrow", "wallet")
# Escrow-side kinds: pledge lines of these are counted on the escrow side.
INTO_ESCROW = (AWARD, FEE_ESCROW)
BACK_FROM_ESCROW = (ESCROW_RETURN, FEE_RETURN)

FlowKey = tuple[uuid.UUID, str, str, str]  # challenge id, currency, source, target


@dataclass(frozen=True)
class Line:
    """A posted ledger line reduced to what flows need."""

    kind: str
    account_code: str
    owner_ref: str
    currency: str
    debit: int
    credit: int
    milestone_id: str | None = None
    host_org_id: str | None = None


@dataclass
class Derived:
    totals: dict[FlowKey, int]
    unexplained: list[Line]


def _ids(owner_ref: str) -> list[str]:
    return owner_ref.split(":")[1:]


def derive(
    lines: Iterable[Line],
    pledges: Mapping[uuid.UUID, PledgeOwner],
    milestone_challenges: Mapping[uuid.UUID, uuid.UUID],
) -> Derived:
    totals: dict[FlowKey, int] = defaultdict(int)
    unexplained: list[Line] = []
    for line in lines:
        flows = _flows_of(line, pledges, milestone_challenges)
        if flows is None:
            unexplained.append(line)
        for flow, amount in flows or ():
            totals[flow] += amount
    return Derived(dict(totals), unexplained)


def _flows_of(
    line: Line,
    pledges: Mapping[uuid.UUID, PledgeOwner],
    milestone_challenges: Mapping[uuid.UUID, uuid.UUID],
) -> list[tuple[FlowKey, int]] | None:
    """The flows one line adds to; [] if it is counted by the line on its other side,
    None if it fits no known flow (a reconciliation reports it)."""
    ids = _ids(line.owner_ref)
    if line.account_code == "pledge":
        owner = pledges.get(uuid.UUID(ids[0]))
        if owner is None:
            return None
        here = keys.challenge(owner.challenge_id)
        if line.credit and line.kind not in BACK_FROM_ESCROW:
            source = keys.funder(owner.funder_org_id, owner.anonymous)
            return [((owner.challenge_id, line.currency, source, here), line.credit)]
        if line.credit or (line.debit and line.kind in INTO_ESCROW):
            return []  # an escrow return or an award: counted on the escrow side
        if line.kind == HOST_FEE and line.host_org_id is not None:
            host = keys.host(line.host_org_id)
            return [((owner.challenge_id, line.currency, here, host), line.debit)]
        if line.kind in RETURN_KINDS:
            return [((owner.challenge_id, line.currency, here, keys.RETURNED), line.debit)]
        if line.kind == ROLLOVER:
            return [((owner.challenge_id, line.currency, here, keys.ROLLED_OVER), line.debit)]
        return None
    if line.account_code in ("escrow", "fee_escrow"):
        milestone_id, pledge_id = uuid.UUID(ids[0]), uuid.UUID(ids[1])
        owner = pledges.get(pledge_id)
        if owner is None:
            return None
        flow: FlowKey = (
            owner.challenge_id,
            line.currency,
            keys.challenge(owner.challenge_id),
            keys.milestone(milestone_id),
        )
        if line.credit and line.kind in INTO_ESCROW:
            return [(flow, line.credit)]
        if line.debit and line.kind in BACK_FROM_ESCROW:
            return [(flow, -line.debit)]
        if line.debit and line.kind in (PAYOUT, FEE_PAYMENT):
            return []  # counted on the actors' (verifiers') wallet side
        return None
    if line.account_code == "wallet" and line.kind in (PAYOUT, FEE_PAYMENT) and line.credit:
        if line.milestone_id is None:
            return None
        paid_for = uuid.UUID(line.milestone_id)
        challenge_id = milestone_challenges.get(paid_for)
        if challenge_id is None:
            return None
        org = _ids(line.owner_ref)[0]
        payee = keys.actor(org) if line.kind == PAYOUT else keys.verifier(org)
        return [((challenge_id, line.currency, keys.milestone(paid_for), payee), line.credit)]
    return None
