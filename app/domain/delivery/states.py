"""The one way a milestone changes state: an action its transition table allows."""

from __future__ import annotations

from app.domain.challenges.models import Milestone
from app.domain.challenges.rules import MILESTONE_TRANSITIONS, next_state
from app.domain.errors import InvalidState


def advance(milestone: Milestone, action: str) -> None:
    target = next_state(MILESTONE_TRANSITIONS, action, milestone.status)
    if target is None:
        raise InvalidState("milestone", milestone.id, milestone.status, f"moved by '{action}'")
    milestone.status = target
