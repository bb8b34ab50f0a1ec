"""What a round shows: each challenge's contributors, contributions and match.

While the round is open the match is projected live from the contributions so far, by the
same function that divides the pool at close, so the projection is exactly what closing
now would place (save the rare share of a challenge the sponsor has come to verify since the
round began, which the close returns: checking that would cost the public read a third
query, and creating a round with such a challenge is refused). A challenge that is not
open (a draft that never opened, one closed, completed or cancelled) cannot take a pledge:
its share is shown as going back to the sponsor. Once closed, the numbers frozen at close
are shown. Pure: no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.domain.rounds.quadratic import quadratic_match
from app.domain.store.rounds import FunderTotals, Listed, Round


@dataclass(frozen=True)
class ChallengeMatch:
    challenge_id: uuid.UUID
    title: str
    contributors: int
    contributed: int
    projected_match: int
    matched: int | None  # None while the round is open
    pledge_id: uuid.UUID | None


@dataclass(frozen=True)
class RoundView:
    round: Round
    challenges: list[ChallengeMatch]
    projected_return: int  # what goes (or went) back to the sponsor


def shares(
    round_: Round, totals: FunderTotals, placeable: Mapping[uuid.UUID, bool]
) -> dict[uuid.UUID, int]:
    """Each challenge's match if the round closed on these contributions: its quadratic
    share of the pool when it can take a pledge, else 0 (that share goes back)."""
    split = quadratic_match(
        round_.matching_pool,
        round_.floor_bps,
        {
            str(challenge_id): {str(funder): total for funder, total in funders.items()}
            for challenge_id, funders in totals.items()
        },
    )
    return {
        challenge_id: split[str(challenge_id)] if placeable.get(challenge_id, False) else 0
        for challenge_id in totals
    }


def live(round_: Round, listed: Sequence[Listed], totals: FunderTotals) -> RoundView:
    """An open round, projected from its contributions so far."""
    placeable = {item.row.challenge_id: item.status == "open" for item in listed}
    matches = shares(round_, totals, placeable)
    challenges = [
        ChallengeMatch(
            challenge_id=item.row.challenge_id,
            title=item.title,
            contributors=len(totals.get(item.row.challenge_id, {})),
            contributed=sum(totals.get(item.row.challenge_id, {}).values()),
            projected_match=matches.get(item.row.challenge_id, 0),
            matched=None,
            pledge_id=None,
        )
        for item in listed
    ]
    placed = sum(c.projected_match for c in challenges)
    return RoundView(round_, challenges, round_.matching_pool - placed)


def frozen(round_: Round, listed: Sequence[Listed]) -> RoundView:
    """A closed round, as it was divided."""
    challenges = [
        ChallengeMatch(
            challenge_id=item.row.challenge_id,
            title=item.title,
            contributors=item.row.contributors or 0,
            contributed=item.row.contributed or 0,
            projected_match=item.row.matched or 0,
            matched=item.row.matched or 0,
            pledge_id=item.row.pledge_id,
        )
        for item in listed
    ]
    return RoundView(round_, challenges, round_.returned or 0)
