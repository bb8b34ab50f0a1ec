"""`tributary demo`: a realistic little market, so a newcomer sees something real at once.

Three SDG 6 challenges in Kenya with milestones, a steward, funders pledging on every kind
of terms (direct, threshold met and not yet met, 1:1 and 1:2 matches, earmarked, anonymous,
expiring with rollover), and a two-firm swarm that delivered boreholes in Kisumu, was
verified by two auditors and paid, with a second milestone awarded and in escrow. A fourth,
smaller challenge ran its whole life: its rainwater tanks were delivered, verified, paid,
and the challenge completed, one funder's remainder refunded and another's rolled over
into Kisumu. It goes
through the same domain services as the API, one unit of work per step as the API would run
them (so each takes its locks in the documented order), and every cent is in the ledger.
Running it again on a database that has it changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.demo_bonus import seed_mechanisms
from app.domain.challenges import service as challenges
from app.domain.challenges import transitions
from app.domain.delivery import awards, claims, milestones, swarms, verifiers
from app.domain.identity import service as identity
from app.domain.identity.caller import ADMIN, Caller
from app.domain.identity.models import Org
from app.domain.money import service as money
from app.domain.pledges import service as pledges
from app.sql.types import utcnow

STEWARD = "Lake Basin Water Trust"
ORGS: list[tuple[str, list[str], int]] = [  # name, roles, USD deposit in cents
    (STEWARD, ["steward"], 0),
    ("Aqua Foundation", ["funder"], 50_000_000),
    ("Blue Horizon Bank", ["funder"], 30_000_000),
    ("County Government of Kisumu", ["funder"], 10_000_000),
    ("Friends of Lake Victoria", ["funder"], 2_000_000),
    ("WellWorks Kenya", ["actor"], 0),
    ("SunPump Engineering", ["actor"], 0),
    ("EastAfrica Impact Audit", ["verifier"], 0),
    ("WaterLab Nairobi", ["verifier"], 0),
]


@dataclass(frozen=True)
class DemoKey:
    org: str
    roles: list[str]
    secret: str


def _as(org: Org) -> Caller:
    return Caller(kind="org", org_id=org.id, roles=frozenset(org.roles))


async def _orgs(session: AsyncSession) -> tuple[dict[str, Org], list[DemoKey]]:
    orgs, keys = {}, []
    for name, roles, deposit in ORGS:
        org = await identity.create_org(session, ADMIN, name=name, roles=roles, public_name=name)
        issued = await identity.issue_api_key(session, ADMIN, org.id, label="demo")
        keys.append(DemoKey(name, roles, issued.secret))
        orgs[name] = org
        if deposit:
            await money.deposit(
                session,
                ADMIN,
                org.id,
                amount=deposit,
                currency="USD",
                external_ref=f"demo-seed-{org.id}",
            )
    return orgs, keys


async def _challenge(
    database: Database, steward: Caller, title: str, targets: list[str], region: str
) -> uuid.UUID:
    return await database.transaction(
        lambda session: _open_challenge(session, steward, title, targets, region)
    )


async def _open_challenge(
    session: AsyncSession, steward: Caller, title: str, targets: list[str], region: str
) -> uuid.UUID:
    spec = challenges.ChallengeSpec(
        title=title,
        description=f"{title}: pooled, outcome-based funding for SDG {', '.join(targets)}.",
        currency="USD",
        sdg_targets=targets,
        region=region,
        closes_at=utcnow() + timedelta(days=180),
    )
    challenge = await challenges.create_challenge(session, steward, spec)
    await transitions.transition(session, steward, challenge.id, "open")
    for title_, metric, unit, target, rule, cap, days in (
        (
            "Boreholes drilled and flowing",
            "working boreholes",
            "boreholes",
            40,
            "pro_rata",
            12_000_000,
            120,
        ),
        (
            "Water quality certified",
            "samples passing WHO limits",
            "samples",
            200,
            "binary",
            3_000_000,
            150,
        ),
    ):
        await milestones.create_milestone(
            session,
            steward,
            challenge.id,
            milestones.MilestoneSpec(
                title=title_,
                description="",
                metric=metric,
                unit=unit,
                target=target,
                payout_rule=rule,
                budget_cap=cap,
                quorum=2,
                due_at=utcnow() + timedelta(days=days),
            ),
        )
    return challenge.id


async def _pledges(database: Database, orgs: dict[str, Org], ids: list[uuid.UUID]) -> None:
    aqua, bank = _as(orgs["Aqua Foundation"]), _as(orgs["Blue Horizon Bank"])
    county, friends = (
        _as(orgs["County Government of Kisumu"]),
        _as(orgs["Friends of Lake Victoria"]),
    )
    kisumu, nairobi, turkana = ids
    soon, later = utcnow() + timedelta(days=60), utcnow() + timedelta(days=90)
    plan = [
        (bank, kisumu, pledges.PledgeSpec(amount=5_000_000, kind="match", match_ratio=Decimal(1))),
        (aqua, kisumu, pledges.PledgeSpec(amount=8_000_000, kind="direct")),
        (
            county,
            kisumu,
            pledges.PledgeSpec(
                amount=2_000_000, kind="threshold", threshold_amount=15_000_000, deadline=soon
            ),
        ),
        (friends, kisumu, pledges.PledgeSpec(amount=250_000, kind="direct", anonymous=True)),
        (
            aqua,
            nairobi,
            pledges.PledgeSpec(amount=4_000_000, kind="direct", earmark_sdg_targets=["6.2"]),
        ),
        (
            bank,
            nairobi,
            pledges.PledgeSpec(
                amount=6_000_000, kind="threshold", threshold_amount=30_000_000, deadline=later
            ),
        ),
        (
            aqua,
            turkana,
            pledges.PledgeSpec(amount=3_000_000, kind="match", match_ratio=Decimal("0.5")),
        ),
        (
            county,
            turkana,
            pledges.PledgeSpec(
                amount=1_500_000,
                kind="direct",
                expires_at=later,
                on_expiry="rollover",
                rollover_challenge_id=kisumu,
            ),
        ),
        (friends, turkana, pledges.PledgeSpec(amount=500_000, kind="direct", anonymous=True)),
    ]
    for caller, challenge_id, spec in plan:
        await database.transaction(
            partial(pledges.create_pledge, caller=caller, challenge_id=challenge_id, spec=spec)
        )


async def _delivery(database: Database, orgs: dict[str, Org], kisumu: uuid.UUID) -> None:
    """Kisumu's boreholes are delivered, verified at 31 of 40 and paid 77.5% of the bid to
    a two-firm swarm; its water-quality milestone is awarded and in escrow."""
    steward, wells, pumps = (
        _as(orgs[STEWARD]),
        _as(orgs["WellWorks Kenya"]),
        _as(orgs["SunPump Engineering"]),
    )
    auditors = [orgs["EastAfrica Impact Audit"], orgs["WaterLab Nairobi"]]
    members = [(orgs["WellWorks Kenya"].id, 6_000), (orgs["SunPump Engineering"].id, 4_000)]
    swarm = await database.transaction(
        lambda s: swarms.create_swarm(s, wells, name="WellWorks + SunPump", members=members)
    )
    await database.transaction(lambda s: swarms.accept(s, pumps, swarm.id))
    boreholes, quality = await database.transaction(lambda s: milestones.list_milestones(s, kisumu))
    for milestone, amount in ((boreholes, 10_000_000), (quality, 2_000_000)):
        bid = await database.transaction(
            partial(
                awards.submit_bid,
                caller=wells,
                milestone_id=milestone.id,
                swarm_id=swarm.id,
                amount=amount,
                plan="Drill, fit solar pumps, test",
            )
        )
        await database.transaction(partial(awards.award_bid, caller=steward, bid_id=bid.id))
        await database.transaction(
            partial(
                verifiers.assign_verifiers,
                caller=steward,
                milestone_id=milestone.id,
                org_ids=[a.id for a in auditors],
            )
        )
    claim = await database.transaction(
        lambda s: claims.submit_claim(
            s,
            wells,
            boreholes.id,
            reported_value=32,
            evidence=[{"uri": "https://example.org/kisumu/boreholes-survey.pdf", "note": "survey"}],
        )
    )
    for auditor, value in zip(auditors, (30, 32), strict=True):
        await database.transaction(
            partial(
                claims.attest,
                caller=_as(auditor),
                claim_id=claim.id,
                verdict="approve",
                value=value,
                note="site visit",
            )
        )


async def _completed_challenge(database: Database, orgs: dict[str, Org], kisumu: uuid.UUID) -> None:
    """Rainwater tanks in Machakos: funded, delivered, verified at 60 of 60, paid, then
    completed; the Aqua Foundation's remainder rolls over into Kisumu, the County's returns."""
    steward, wells = _as(orgs[STEWARD]), _as(orgs["WellWorks Kenya"])
    aqua, county = _as(orgs["Aqua Foundation"]), _as(orgs["County Government of Kisumu"])
    spec = challenges.ChallengeSpec(
        title="Rainwater tanks in Machakos",
        description="Household rainwater harvesting for dry-season water security (SDG 6.4).",
        currency="USD",
        sdg_targets=["6.4"],
        region="KE-22",
        closes_at=None,
    )
    challenge = await database.transaction(
        partial(challenges.create_challenge, caller=steward, spec=spec)
    )
    await database.transaction(
        partial(transitions.transition, caller=steward, challenge_id=challenge.id, action="open")
    )
    tanks = await database.transaction(
        partial(
            milestones.create_milestone,
            caller=steward,
            challenge_id=challenge.id,
            spec=milestones.MilestoneSpec(
                title="Tanks installed and full",
                description="",
                metric="household tanks installed and holding water",
                unit="tanks",
                target=60,
                payout_rule="pro_rata",
                budget_cap=1_500_000,
                quorum=1,
                due_at=utcnow() + timedelta(days=30),
                sdg_targets=("6.4",),
            ),
        )
    )
    for funder_, amount, completion in ((aqua, 1_200_000, "rollover"), (county, 800_000, "refund")):
        terms = pledges.PledgeSpec(
            amount=amount,
            kind="direct",
            on_completion=completion,
            rollover_challenge_id=kisumu if completion == "rollover" else None,
        )
        await database.transaction(
            partial(pledges.create_pledge, caller=funder_, challenge_id=challenge.id, spec=terms)
        )
    solo = [(orgs["WellWorks Kenya"].id, 10_000)]
    swarm = await database.transaction(
        partial(swarms.create_swarm, caller=wells, name="WellWorks tanks", members=solo)
    )
    bid = await database.transaction(
        partial(
            awards.submit_bid,
            caller=wells,
            milestone_id=tanks.id,
            swarm_id=swarm.id,
            amount=1_500_000,
            plan="Supply and fit 60 tanks with gutters",
        )
    )
    await database.transaction(partial(awards.award_bid, caller=steward, bid_id=bid.id))
    auditor = orgs["WaterLab Nairobi"]
    await database.transaction(
        partial(
            verifiers.assign_verifiers,
            caller=steward,
            milestone_id=tanks.id,
            org_ids=[auditor.id],
        )
    )
    claim = await database.transaction(
        partial(
            claims.submit_claim,
            caller=wells,
            milestone_id=tanks.id,
            reported_value=60,
            evidence=[{"uri": "https://example.org/machakos/tanks.pdf", "note": "site survey"}],
        )
    )
    await database.transaction(
        partial(
            claims.attest,
            caller=_as(auditor),
            claim_id=claim.id,
            verdict="approve",
            value=60,
            note="all 60 tanks seen holding water",
        )
    )
    await database.transaction(
        partial(
            transitions.transition, caller=steward, challenge_id=challenge.id, action="complete"
        )
    )


async def _start(session: AsyncSession) -> tuple[dict[str, Org], list[DemoKey]] | None:
    """The demo's organisations, keys and deposits; None if the demo is there already."""
    if await identity.org_named(session, STEWARD) is not None:
        return None
    return await _orgs(session)


async def seed(database: Database) -> list[DemoKey] | None:
    """Create the demo market; None if it is there already."""
    started = await database.transaction(_start)
    if started is None:
        return None
    orgs, keys = started
    steward = _as(orgs[STEWARD])
    ids = [
        await _challenge(
            database, steward, "Safe water for Kisumu County", ["6.1", "6.4"], "KE-17"
        ),
        await _challenge(
            database,
            steward,
            "Sanitation in Nairobi's informal settlements",
            ["6.2", "6.3"],
            "KE-30",
        ),
        await _challenge(
            database, steward, "Drought-resilient wells in Turkana", ["6.1", "6.5"], "KE-43"
        ),
    ]
    await _pledges(database, orgs, ids)
    await _delivery(database, orgs, ids[0])
    await _completed_challenge(database, orgs, ids[0])
    await seed_mechanisms(database, orgs, STEWARD, ids[1])
    return keys
