"""Swarms and their members: the tables, and every query and row lock of them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Select, String, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.base import Base
from app.domain.errors import NotFound
from app.sql.types import UtcDateTime, utcnow


class Swarm(Base):
    """A coalition of actor organisations with agreed revenue shares."""

    __tablename__ = "swarms"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    lead_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SwarmMember(Base):
    __tablename__ = "swarm_members"
    __table_args__ = (Index("ix_swarm_members_org_id", "org_id"),)

    swarm_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("swarms.id"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    share_bps: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)


class SwarmRepository:
    """The swarms and swarm_members tables, for one unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, swarm: Swarm) -> None:
        self.session.add(swarm)

    def add_members(self, members: list[SwarmMember]) -> None:
        self.session.add_all(members)

    async def get(self, swarm_id: uuid.UUID, *, lock: bool = False) -> Swarm:
        """A swarm (locked: a swarm's row has no challenge above it, so it is locked alone,
        and nothing else is locked after it)."""
        swarm = await self.session.get(Swarm, swarm_id, with_for_update=lock or None)
        if swarm is None:
            raise NotFound("swarm", swarm_id)
        return swarm

    async def members_of(self, swarm_id: uuid.UUID) -> list[SwarmMember]:
        return list(
            await self.session.scalars(
                select(SwarmMember)
                .where(SwarmMember.swarm_id == swarm_id)
                .order_by(SwarmMember.position)
            )
        )

    async def with_members(
        self, swarm_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[Swarm, list[SwarmMember]]]:
        """Many swarms with their members (in position order), in two queries."""
        wanted = sorted(set(swarm_ids))
        if not wanted:
            return {}
        swarms = {
            s.id: s for s in await self.session.scalars(select(Swarm).where(Swarm.id.in_(wanted)))
        }
        found: dict[uuid.UUID, tuple[Swarm, list[SwarmMember]]] = {
            sid: (swarm, []) for sid, swarm in swarms.items()
        }
        members = await self.session.scalars(
            select(SwarmMember)
            .where(SwarmMember.swarm_id.in_(wanted))
            .order_by(SwarmMember.swarm_id, SwarmMember.position)
        )
        for member in members:
            found[member.swarm_id][1].append(member)
        return found

    async def member_ids(self, swarm_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Every organisation that is a member of any of these swarms."""
        if not swarm_ids:
            return set()
        rows = await self.session.scalars(
            select(SwarmMember.org_id).where(SwarmMember.swarm_id.in_(swarm_ids))
        )
        return set(rows)

    @staticmethod
    def swarms_of(org_id: uuid.UUID | None) -> Select[Any]:
        """A subquery: the ids of the swarms this organisation is a member of."""
        return select(SwarmMember.swarm_id).where(SwarmMember.org_id == org_id)
