"""The ledger's invariants, as the admin asks for them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain import policies
from app.domain.identity.caller import Caller
from app.ledger import Ledger, VerifyReport


async def verify(session: AsyncSession, caller: Caller | None) -> VerifyReport:
    policies.require_admin(caller)
    return await Ledger(session).verify()
