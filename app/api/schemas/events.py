"""Shapes of events, webhooks and their delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyUrl, Field, StringConstraints, field_validator

from app.api.schemas.base import RequestModel, ResponseModel

EventType = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z_.*]+$")]


class EventOut(ResponseModel):
    id: uuid.UUID
    type: str
    created_at: datetime
    data: dict[str, Any]


class WebhookCreate(RequestModel):
    url: Annotated[str, StringConstraints(min_length=8, max_length=2048)]
    event_types: list[EventType] = Field(min_length=1, max_length=30)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        AnyUrl(value)  # well-formed; scheme and address rules are the domain's
        return value


class WebhookOut(ResponseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    status: Literal["active", "disabled"]
    disabled_reason: str | None
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="`whsec_` + base64; shown only in this response")


class AttemptOut(ResponseModel):
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    created_at: datetime


class DeliveryOut(ResponseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: Literal["pending", "delivered", "failed", "cancelled"]
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    attempts: list[AttemptOut]
