"""The ledger's invariants, as the admin asks for them, plus the market's own books.

Beyond the ledger's checks, the public funding-flow rollup must equal what the journal
implies; any difference is reported as a violation of the check `flow_rollup`.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
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
    violations = report.violations + [
        {"check": "flow_rollup", "row": [problem]}
        for problem in flow_problems[:MAX_FLOW_VIOLATIONS]
    ]
    return replace(report, ok=report.ok and not flow_problems, violations=violations)
