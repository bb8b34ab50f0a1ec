"""Which pledges may fund a milestone: the earmarks a funder set (awards and verifier fees
draw only on these)."""

from __future__ import annotations

import uuid

from app.domain.store.milestones import Milestone
from app.domain.store.pledges import Pledge


def eligible(pledge: Pledge, milestone: Milestone, lineage: list[uuid.UUID]) -> bool:
    """A pledge funds a milestone unless its earmarks say otherwise: earmarked milestones
    (or a re-tender of one: `lineage`), and SDG targets the milestone is tagged with."""
    if pledge.status not in ("active", "exhausted"):
        return False
    milestones = pledge.earmark_milestone_ids
    if milestones and not {str(m) for m in lineage} & set(milestones):
        return False
    targets = pledge.earmark_sdg_targets
    return not targets or bool(set(targets) & set(milestone.sdg_targets))
