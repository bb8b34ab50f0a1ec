"""The ledger's invariants, as the admin asks for them, plus the market's own books.

Beyond the ledger's checks, the public funding-flow rollup must equal what the journal
implies (violations of the check `flow_rollup`), and the market's invariants must hold
(market_audit: no money in ended pledges or milestones, totals equal to the ledger).
Callers run it in one snapshot (Database.snapshot), so concurrent writes are seen whole or
not at all and never look like a breach.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import market_audit, policies
from app.domain.flows import reconcile
from app.domain.identity.caller import Caller
from app.ledger import Ledger, VerifyReport

MAX_FLOW_VIOLATIONS = 50


async def verify(session: AsyncSession, caller: Caller | None) -> VerifyReport:
    policies.require_admin(caller)
    return await verify_all(session)


async def verify_all(session: AsyncSession) -> VerifyReport:
    report = await Ledger(session).verify()
    flow_problems = await reconcile.differences(session)
    market = await market_audit.violations(session, with_totals=not flow_problems)
    violations = (
        report.violations
        + [
            {"check": "flow_rollup", "row": [problem]}
            for problem in flow_problems[:MAX_FLOW_VIOLATIONS]
        ]
        + market[:MAX_FLOW_VIOLATIONS]
    )
    ok = report.ok and not flow_problems and not market
    return replace(report, ok=ok, violations=violations)
