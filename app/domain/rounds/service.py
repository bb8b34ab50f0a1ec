"""Use cases of matching rounds: create one (its pool leaves the sponsor's wallet) and read
its live projection.

A round's contributors are organisations, and only the platform admin creates
organisations: that is the sybil control quadratic funding needs (one funder cannot split
itself into many to multiply its match).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.errors import Conflict, Unprocessable
from app.domain.events.publish import emit
from app.domain.identity.caller import Caller
from app.domain.money import chart, kinds
from app.domain.money.shortfall import wallet_short
from app.domain.pledges.terms import VERIFYING
from app.domain.rounds import projection
from app.domain.rounds.accounts import round_escrow
from app.domain.store.challenges import Challenge
from app.domain.store.rounds import Round, RoundRepository
from app.ledger import Ledger, LimitExceeded
from app.sql.types import utcnow

LISTABLE = ("draft", "open")


@dataclass(frozen=True)
class RoundSpec:
    name: str
    currency: str
    matching_pool: int
    challenge_ids: list[uuid.UUID]
    starts_at: datetime
    ends_at: datetime
    floor_bps: int = 0


def _check_window(spec: RoundSpec) -> None:
    if spec.ends_at <= spec.starts_at:
        raise Unprocessable(
            f"ends_at ({spec.ends_at.isoformat()}) must be after starts_at "
            f"({spec.starts_at.isoformat()}).",
            code="invalid_round",
        )
    if spec.ends_at <= utcnow():
        raise Unprocessable("ends_at must be in the future.", code="invalid_round")


def _check_challenges(spec: RoundSpec, found: dict[uuid.UUID, Challenge]) -> None:
    seen: set[uuid.UUID] = set()
    for index, challenge_id in enumerate(spec.challenge_ids):
        where = f"challenge_ids[{index}]"
        if challenge_id in seen:
            raise Unprocessable(
                f"{where}: challenge {challenge_id} is listed twice.", code="invalid_round"
            )
        seen.add(challenge_id)
        challenge = found.get(challenge_id)
        if challenge is None:
            raise Unprocessable(
                f"{where}: challenge {challenge_id} does not exist.", code="invalid_round"
            )
        if challenge.currency != spec.currency:
            raise Unprocessable(
                f"{where}: challenge {challenge_id} is in {challenge.currency}; this round "
                f"matches in {spec.currency}.",
                code="invalid_round",
            )
        if challenge.status not in LISTABLE:
            raise Unprocessable(
                f"{where}: challenge {challenge_id} is {challenge.status}; a round lists only "
                "draft or open challenges.",
                code="invalid_round",
            )


async def create_round(
    session: AsyncSession, caller: Caller | None, spec: RoundSpec
) -> projection.RoundView:
    """The sponsor's pool moves from its wallet into the round's escrow, in this
    transaction; 409 insufficient_funds (and nothing changes) if the wallet is short."""
    caller = policies.require_role(caller, "funder")
    assert caller.org_id is not None
    _check_window(spec)
    repository = RoundRepository(session)
    _check_challenges(spec, await repository.challenges(spec.challenge_ids))
    if await repository.verified_by(spec.challenge_ids, caller.org_id, VERIFYING):
        raise Conflict(
            "Conflict of interest: this organisation verifies milestones of a listed "
            "challenge, so it cannot fund it through a round.",
            code="conflict_of_interest",
        )
    round_ = Round(
        id=uuid.uuid4(),
        name=spec.name,
        currency=spec.currency,
        sponsor_org_id=caller.org_id,
        matching_pool=spec.matching_pool,
        floor_bps=spec.floor_bps,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        status="open",
        created_at=utcnow(),
    )
    repository.add(round_, spec.challenge_ids)
    await session.flush()
    try:
        await Ledger(session).transfer(
            entry_id=round_.id,
            debit_account_id=chart.wallet(caller.org_id, spec.currency).id,
            credit_account_id=round_escrow(round_.id, spec.currency).id,
            amount=spec.matching_pool,
            kind=kinds.ROUND_FUND,
            meta={"round_id": str(round_.id), "memo": f"matching pool of round {spec.name}"},
        )
    except LimitExceeded as error:
        raise wallet_short(
            error.available, spec.matching_pool, spec.currency, "the matching pool is"
        ) from None
    await _announce_created(session, round_, spec.challenge_ids)
    return await view(session, round_.id)


async def _announce_created(
    session: AsyncSession, round_: Round, challenge_ids: list[uuid.UUID]
) -> None:
    """`round.created`: public (rounds are), and sent to the sponsor."""
    await emit(
        session,
        "round.created",
        {
            "round_id": str(round_.id),
            "name": round_.name,
            "sponsor_org_id": str(round_.sponsor_org_id),
            "currency": round_.currency,
            "matching_pool": round_.matching_pool,
            "floor_bps": round_.floor_bps,
            "challenge_ids": [str(c) for c in challenge_ids],
            "starts_at": round_.starts_at.isoformat(),
            "ends_at": round_.ends_at.isoformat(),
        },
        orgs=[round_.sponsor_org_id],
        public=True,
    )


async def view(session: AsyncSession, round_id: uuid.UUID) -> projection.RoundView:
    """The round as GET shows it: frozen once closed (one query), else projected live from
    its contributions (two queries)."""
    repository = RoundRepository(session)
    round_, listed = await repository.with_listed(round_id)
    if round_.status == "closed":
        return projection.frozen(round_, listed)
    totals = await repository.contributions(round_, [item.row.challenge_id for item in listed])
    return projection.live(round_, listed, totals)


async def get_round(session: AsyncSession, round_id: uuid.UUID) -> projection.RoundView:
    """Public: anyone may read a round."""
    return await view(session, round_id)


async def open_rounds_of(
    session: AsyncSession, challenge_id: uuid.UUID
) -> list[projection.RoundView]:
    """The open rounds a challenge is in, projected (the challenge's page)."""
    found = await RoundRepository(session).open_rounds_of(challenge_id, utcnow())
    return [await view(session, round_.id) for round_ in found]
