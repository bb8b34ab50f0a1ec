"""Matching rounds on the wire."""

from __future__ import annotations

from app.api.schemas.rounds import RoundChallengeOut, RoundOut
from app.domain.rounds.projection import RoundView


def round_out(view: RoundView) -> RoundOut:
    round_ = view.round
    return RoundOut(
        id=round_.id,
        name=round_.name,
        status=round_.status,
        currency=round_.currency,
        sponsor_org_id=round_.sponsor_org_id,
        matching_pool=round_.matching_pool,
        floor_bps=round_.floor_bps,
        starts_at=round_.starts_at,
        ends_at=round_.ends_at,
        created_at=round_.created_at,
        closed_at=round_.closed_at,
        projected_return=view.projected_return,
        challenges=[RoundChallengeOut.model_validate(c) for c in view.challenges],
    )
