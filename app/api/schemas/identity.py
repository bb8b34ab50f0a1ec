"""Organisations, API keys and the audit trail on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from app.api.schemas.base import Label, Name, RequestModel, ResponseModel

Role = Literal["funder", "actor", "verifier", "steward"]


class OrgCreate(RequestModel):
    name: Name
    roles: list[Role] = Field(min_length=1, max_length=4)
    public_name: Name | None = None


class OrgOut(ResponseModel):
    id: uuid.UUID
    name: str
    public_name: str | None
    roles: list[Role]
    created_at: datetime


class ApiKeyCreate(RequestModel):
    label: Label | None = None


class ApiKeyIssued(ResponseModel):
    """The only response that ever contains the secret."""

    id: uuid.UUID
    secret: str
    prefix: str
    label: str | None
    created_at: datetime


class ApiKeyOut(ResponseModel):
    id: uuid.UUID
    prefix: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class AuditRecordOut(ResponseModel):
    id: int
    occurred_at: datetime
    actor: Literal["admin", "key", "anonymous"]
    org_id: uuid.UUID | None
    key_id: uuid.UUID | None
    method: str
    path: str
    status: int
    request_id: str
