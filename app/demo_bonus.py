"""The demo's assurance bonus and price-per-outcome bid (issue 18), kept apart from
app/demo.py so each mechanism's demo is its own small step.

Nairobi's sanitation challenge gets a 5,000.00 assurance bonus at 2.5% from the Aqua
Foundation, on offer to the Blue Horizon Bank's threshold pledge (met or missed, pledging
was never worse than waiting). A household-connections milestone is let to WellWorks at
250.00 a household for up to 100 households; 79 are verified (the median of 78 and 80), so
it is paid 19,750.00 and the public benchmarks show 250.00 per household for SDG 6.2.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import partial

from app.db import Database
from app.domain.assurance import service as assurance
from app.domain.delivery import awards, claims, milestones, swarms, verifiers
from app.domain.identity.caller import Caller
from app.domain.identity.models import Org
from app.sql.types import utcnow

UNIT_PRICE, MAX_UNITS = 25_000, 100


def _as(org: Org) -> Caller:
    return Caller(kind="org", org_id=org.id, roles=frozenset(org.roles))


async def seed_mechanisms(
    database: Database, orgs: dict[str, Org], steward_name: str, nairobi: uuid.UUID
) -> None:
    steward, wells = _as(orgs[steward_name]), _as(orgs["WellWorks Kenya"])
    await database.transaction(
        partial(
            assurance.offer_bonus,
            caller=_as(orgs["Aqua Foundation"]),
            challenge_id=nairobi,
            amount=500_000,
            bonus_bps=250,
        )
    )
    households = await database.transaction(
        partial(
            milestones.create_milestone,
            caller=steward,
            challenge_id=nairobi,
            spec=milestones.MilestoneSpec(
                title="Households connected to sewers",
                description="",
                metric="households connected and flushing",
                unit="households",
                target=MAX_UNITS,
                payout_rule="pro_rata",
                budget_cap=UNIT_PRICE * MAX_UNITS,
                quorum=2,
                due_at=utcnow() + timedelta(days=90),
                sdg_targets=("6.2",),
            ),
        )
    )
    solo = [(orgs["WellWorks Kenya"].id, 10_000)]
    swarm = await database.transaction(
        partial(swarms.create_swarm, caller=wells, name="WellWorks sanitation", members=solo)
    )
    bid = await database.transaction(
        partial(
            awards.submit_bid,
            caller=wells,
            milestone_id=households.id,
            swarm_id=swarm.id,
            amount=UNIT_PRICE * MAX_UNITS,
            plan="Connect households to the sewer main, paid per household connected",
            pricing="per_unit",
            unit_price=UNIT_PRICE,
            max_units=MAX_UNITS,
        )
    )
    await database.transaction(partial(awards.award_bid, caller=steward, bid_id=bid.id))
    auditors = [orgs["EastAfrica Impact Audit"], orgs["WaterLab Nairobi"]]
    await database.transaction(
        partial(
            verifiers.assign_verifiers,
            caller=steward,
            milestone_id=households.id,
            org_ids=[a.id for a in auditors],
        )
    )
    claim = await database.transaction(
        partial(
            claims.submit_claim,
            caller=wells,
            milestone_id=households.id,
            reported_value=80,
            evidence=[{"uri": "https://example.org/nairobi/connections.pdf", "note": "register"}],
        )
    )
    for auditor, value in zip(auditors, (78, 80), strict=True):
        await database.transaction(
            partial(
                claims.attest,
                caller=_as(auditor),
                claim_id=claim.id,
                verdict="approve",
                value=value,
                note="door-to-door check",
            )
        )
