"""Pledges on the wire: the pledge's terms with its money from the ledger."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.schemas.milestones import PayoutSplitOut
from app.api.schemas.pledges import EarmarkOut, PledgeOut
from app.domain.identity.caller import Caller
from app.domain.pledges.rules import BPS
from app.domain.pledges.service import shows_funder
from app.domain.reports.pledge_money import PledgeMoney, money_of, new_money
from app.domain.store.pledges import Pledge

PledgeView = tuple[Pledge, PledgeMoney, bool]


async def views(
    session: AsyncSession, caller: Caller | None, pledges: list[Pledge]
) -> list[PledgeView]:
    """Each pledge with its money (read in a few queries for the whole list) and whether
    the caller may see its funder."""
    money = await money_of(session, pledges)
    return [(p, money[p.id], shows_funder(caller, p)) for p in pledges]


async def new_views(
    session: AsyncSession, caller: Caller | None, pledges: list[Pledge]
) -> list[PledgeView]:
    """Pledges just made, presented from what their write knows where it is enough (no
    query for the common case), else from the ledger."""
    known = new_money(session, pledges)
    unknown = [p for p in pledges if known[p.id] is None]
    read = await money_of(session, unknown) if unknown else {}
    return [(p, known[p.id] or read[p.id], shows_funder(caller, p)) for p in pledges]


async def view(session: AsyncSession, caller: Caller | None, pledge: Pledge) -> PledgeView:
    return (await views(session, caller, [pledge]))[0]


def pledge_out(item: PledgeView) -> PledgeOut:
    pledge, money, show_funder = item
    ratio = Decimal(pledge.match_ratio_bps) / BPS if pledge.match_ratio_bps is not None else None
    return PledgeOut(
        id=pledge.id,
        challenge_id=pledge.challenge_id,
        funder_org_id=pledge.funder_org_id if show_funder else None,
        kind=pledge.kind,
        amount=pledge.amount,
        currency=pledge.currency,
        status=pledge.status,
        held=money.held,
        available=money.available,
        allocated=money.allocated,
        paid=money.paid,
        returned=money.returned,
        fees=money.fees,
        threshold_amount=pledge.threshold_amount,
        deadline=pledge.deadline,
        match_ratio=ratio,
        earmark=EarmarkOut(
            milestone_ids=[uuid.UUID(m) for m in pledge.earmark_milestone_ids],
            sdg_targets=pledge.earmark_sdg_targets,
        ),
        expires_at=pledge.expires_at,
        on_expiry=pledge.on_expiry,
        on_completion=pledge.on_completion,
        rollover_challenge_id=pledge.rollover_challenge_id,
        rolled_into_pledge_id=pledge.rolled_into_pledge_id,
        anonymous=pledge.anonymous,
        paid_to=[
            PayoutSplitOut(org_id=org_id, amount=amount)
            for org_id, amount in sorted(money.paid_to.items())
        ],
        created_at=pledge.created_at,
    )
