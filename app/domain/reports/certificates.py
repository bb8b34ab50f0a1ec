"""Impact certificates: a document a funder can hand to anyone, checkable offline with the
log's public key (tools/verify_ledger_proof.py certificate).

It names the payout entries that carried the funder's money, each with its sealed leaf and
audit path to one signed tree head, the entry's meta (whose SHA-256 the leaf carries, and
which states the milestone, metric, unit, verified value and whole payout), and which of the
leaf's postings are the funder's escrow debits. A checker then recomputes, from signed data
alone, what the funder paid (the sum of those debits) and its units (verified value x paid /
payout, rounded once as impact_rules says). Which postings are the funder's is the one thing
the certificate asserts rather than proves: leaves tag accounts with a server secret so that
the public log never links accounts to organisations.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies, public_log
from app.domain.errors import DomainError, NotFound, invariant
from app.domain.identity.caller import Caller
from app.domain.money.service import require_org
from app.domain.reports import impact_rules as rules
from app.domain.reports.funder_money import payments_of_funder, pledges_of_funder
from app.domain.reports.payout_facts import PayoutFacts, payout_facts
from app.domain.store.milestones import Milestone, MilestoneRepository
from app.ledger import Entry, TreeHead, TreeSigner


class NotCertifiable(NotFound):
    """The milestone paid before payout entries carried their facts (metric, unit, value)."""

    code = "not_certifiable"

    def __init__(self, milestone_id: uuid.UUID) -> None:
        DomainError.__init__(
            self,
            f"milestone {milestone_id} was paid before payout entries recorded what they "
            "bought, so no offline-checkable certificate can be issued for it.",
        )


@dataclass(frozen=True)
class CertifiedEntry:
    entry_id: uuid.UUID
    leaf: str
    leaf_index: int
    audit_path: list[str]
    meta: dict[str, Any]
    funder_postings: list[int]  # indices into the leaf's postings: the funder's debits


@dataclass(frozen=True)
class Certificate:
    funder_org_id: uuid.UUID
    milestone: Milestone
    facts: PayoutFacts
    currency: str
    amount_paid: int
    entries: list[CertifiedEntry]
    tree_head: TreeHead

    @property
    def units_exact(self) -> Fraction:
        return rules.attributable_units(
            verified_value=self.facts.verified_value,
            paid=self.amount_paid,
            payout=self.facts.payout_amount,
        )


async def certificate_of(
    session: AsyncSession,
    caller: Caller | None,
    signer: TreeSigner | None,
    org_id: uuid.UUID,
    milestone_id: uuid.UUID,
) -> Certificate:
    """The funder's certificate for one milestone; 404 when it paid nothing there, 404
    `not_sealed` until every entry is in the signed log."""
    policies.ensure_can_manage_org(caller, org_id)
    await require_org(session, org_id)
    milestone = await MilestoneRepository(session).find(milestone_id)
    if milestone is None:
        raise NotFound("milestone", milestone_id)
    pledges = [
        p
        for p in await pledges_of_funder(session, org_id)
        if p.challenge_id == milestone.challenge_id
    ]
    currency = pledges[0].currency if pledges else ""
    payments = [
        p
        for p in await payments_of_funder(session, pledges, currency)
        if p.milestone.id == milestone.id
    ]
    facts = await payout_facts(session, milestone, with_parts=True) if payments else None
    if not payments or facts is None:
        raise NotFound("certificate of milestone", milestone_id)
    if "verified_value" not in facts.entries[0].meta:
        raise NotCertifiable(milestone_id)
    accounts = set(payments[0].paid_by_account)
    carried = [(e, _funder_postings(e, accounts)) for e in facts.entries]
    carried = [(e, found) for e, found in carried if found]
    head = await public_log.tree_head(session, signer, None)
    entries = []
    for entry, found in carried:
        proof = await public_log.inclusion_proof(session, signer, entry.id, head.tree_size)
        entries.append(
            CertifiedEntry(
                entry.id, proof.leaf, proof.leaf_index, proof.audit_path, entry.meta, found
            )
        )
    paid = sum(entry.postings[i].debit for entry, found in carried for i in found)
    invariant(paid == payments[0].paid, f"certificate entries of milestone {milestone_id}")
    return Certificate(org_id, milestone, facts, currency, paid, entries, head)


def _funder_postings(entry: Entry, accounts: set[uuid.UUID]) -> list[int]:
    """Positions of the funder's escrow debits among the entry's postings (the leaf lists
    them in this same order: both come from the one loader of entries)."""
    return [i for i, p in enumerate(entry.postings) if p.account_id in accounts and p.debit > 0]


__all__ = ["Certificate", "CertifiedEntry", "NotCertifiable", "certificate_of"]
