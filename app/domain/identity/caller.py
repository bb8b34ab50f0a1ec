"""The authenticated caller of a request, as every service and policy sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Caller:
    """The platform admin, or an organisation acting through one of its API keys."""

    kind: Literal["admin", "org"]
    org_id: uuid.UUID | None = None
    key_id: uuid.UUID | None = None
    roles: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def is_org(self, org_id: uuid.UUID) -> bool:
        return self.kind == "org" and self.org_id == org_id

    @property
    def rate_limit_key(self) -> str:
        return "admin" if self.is_admin else f"key:{self.key_id}"

    @property
    def org_rate_limit_key(self) -> str | None:
        """The bucket all of an organisation's keys share (it may mint many); none for the
        admin."""
        return None if self.is_admin else f"org:{self.org_id}"


ADMIN = Caller(kind="admin")
