"""What the public dashboard shows beyond totals and flows: the terms pledges were made on,
who delivers and verifies each milestone, and each named funder's record.

Everything here is public already through the API (challenges, milestones, swarms, flows);
anonymous pledges are shown by their terms only, never by their funder, and a funder's page
lists only the pledges it made in its own name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import NotFound
from app.domain.identity.service import org_names
from app.domain.pledges.rules import BPS
from app.domain.reports.pledge_money import money_of
from app.domain.store.bids import BidRepository
from app.domain.store.challenges import ChallengeRepository
from app.domain.store.milestones import Milestone, MilestoneRepository
from app.domain.store.pledges import PledgeRepository
from app.domain.store.swarms import SwarmRepository

MAX_TERMS = 100  # pledges with terms shown on one challenge page
MAX_FUNDER_PLEDGES = 500  # named pledges read for a funder's page
ANONYMOUS = "An anonymous funder"


@dataclass(frozen=True)
class PledgeTerms:
    kind: str
    funder: str
    funder_id: uuid.UUID | None  # None when anonymous
    status: str
    amount: int
    held: int
    drawn: int  # what left the hold into the pool: available, in escrow, paid or returned
    threshold_amount: int | None
    deadline: datetime | None
    match_ratio: Decimal | None
    expires_at: datetime | None
    on_expiry: str


@dataclass(frozen=True)
class Delivery:
    swarm_name: str | None = None
    members: list[tuple[str, int]] = field(default_factory=list)  # (name, share_bps)
    verifiers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FunderChallenge:
    challenge_id: uuid.UUID
    title: str
    currency: str
    pledged: int
    paid: int
    returned: int
    milestones: list[Milestone]


@dataclass(frozen=True)
class FunderRecord:
    org_id: uuid.UUID
    name: str
    challenges: list[FunderChallenge]


async def pledge_terms(session: AsyncSession, challenge_id: uuid.UUID) -> list[PledgeTerms]:
    pledges = await PledgeRepository(session).with_terms_of_challenge(challenge_id, MAX_TERMS)
    money = await money_of(session, pledges)
    names = await org_names(session, [p.funder_org_id for p in pledges if not p.anonymous])
    found = []
    for p in pledges:
        held = money[p.id]
        found.append(
            PledgeTerms(
                kind=p.kind,
                funder=ANONYMOUS if p.anonymous else names.get(p.funder_org_id, ANONYMOUS),
                funder_id=None if p.anonymous else p.funder_org_id,
                status=p.status,
                amount=p.amount,
                held=held.held,
                drawn=held.available + held.allocated + held.paid + held.returned,
                threshold_amount=p.threshold_amount,
                deadline=p.deadline,
                match_ratio=(
                    Decimal(p.match_ratio_bps) / BPS if p.match_ratio_bps is not None else None
                ),
                expires_at=p.expires_at,
                on_expiry=p.on_expiry,
            )
        )
    return found


async def deliveries(
    session: AsyncSession, milestones: list[Milestone]
) -> dict[uuid.UUID, Delivery]:
    """Per milestone: the awarded swarm and its members' shares, and the verifiers (four
    queries however many milestones)."""
    awarded = [m.awarded_bid_id for m in milestones if m.awarded_bid_id is not None]
    swarm_of_bid = await BidRepository(session).swarms_of_bids(awarded)
    swarms = await SwarmRepository(session).with_members(list(swarm_of_bid.values()))
    plans: dict[uuid.UUID, tuple[str | None, list[tuple[uuid.UUID, int]], list[uuid.UUID]]] = {}
    for m in milestones:
        verifiers = [uuid.UUID(str(v)) for v in m.verifier_org_ids]
        if m.awarded_bid_id is None:
            plans[m.id] = (None, [], verifiers)
            continue
        swarm, members = swarms[swarm_of_bid[m.awarded_bid_id]]
        plans[m.id] = (swarm.name, [(s.org_id, s.share_bps) for s in members], verifiers)
    ids = {o for _, members, verifiers in plans.values() for o, _ in members} | {
        v for _, _, verifiers in plans.values() for v in verifiers
    }
    names = await org_names(session, sorted(ids))
    return {
        mid: Delivery(
            swarm_name=swarm_name,
            members=[(names.get(o, str(o)), bps) for o, bps in members],
            verifiers=[names.get(v, str(v)) for v in verifiers],
        )
        for mid, (swarm_name, members, verifiers) in plans.items()
    }


async def funder_record(session: AsyncSession, org_id: uuid.UUID) -> FunderRecord:
    """A funder's public record: the challenges it funded in its own name, what those pledges
    paid and got back, and the milestones' outcomes. 404 unless it made a named pledge."""
    pledges = await PledgeRepository(session).named_of_funder(org_id, MAX_FUNDER_PLEDGES)
    if not pledges:
        raise NotFound("funder", org_id)
    name = (await org_names(session, [org_id]))[org_id]
    money = await money_of(session, pledges)
    challenge_ids = sorted({p.challenge_id for p in pledges}, key=str)
    titles = await ChallengeRepository(session).titles(challenge_ids)
    milestones = MilestoneRepository(session)
    rows = []
    for cid in challenge_ids:
        mine = [p for p in pledges if p.challenge_id == cid]
        rows.append(
            FunderChallenge(
                challenge_id=cid,
                title=titles.get(cid, str(cid)),
                currency=mine[0].currency,
                pledged=sum(p.amount for p in mine),
                paid=sum(money[p.id].paid for p in mine),
                returned=sum(money[p.id].returned for p in mine),
                milestones=await milestones.of_challenge(cid),
            )
        )
    return FunderRecord(org_id=org_id, name=name, challenges=rows)
