"""The event feed and webhook subscriptions (any organisation's key)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.deps import DatabaseDep, SettingsDep
from app.api.docs import error_responses
from app.api.pagination import Cursor, Limit, decode_uuid_cursor
from app.api.schemas.base import Page
from app.api.schemas.events import (
    AttemptOut,
    DeliveryOut,
    EventOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
)
from app.api.writes import run_write
from app.domain.events import feed
from app.domain.events import webhooks as hooks
from app.domain.events.models import Webhook

router = APIRouter(prefix="/v1", tags=["events"])


@router.get(
    "/events",
    response_model=Page[EventOut],
    responses=error_responses(401, 422),
    summary="Your events, oldest first; pass the last id as ?after= to continue",
)
async def list_events(
    caller: CallerDep,
    database: DatabaseDep,
    after: Cursor = None,
    limit: Limit = 50,
) -> Page[EventOut]:
    after_id = decode_uuid_cursor(after)
    async with database.read() as session:
        found = await feed.events_for(session, caller, after=after_id, limit=limit)
    items = [EventOut.model_validate(event) for event in found]
    last = str(items[-1].id) if items else (str(after_id) if after_id else None)
    return Page[EventOut](items=items, next_cursor=last)


def _webhook_out(webhook: Webhook) -> WebhookOut:
    return WebhookOut.model_validate(webhook)


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    responses=error_responses(401, 403, 422),
    summary="Subscribe a URL to event types; the signing secret is shown only here",
)
async def create_webhook(
    request: Request, body: WebhookCreate, caller: CallerDep, settings: SettingsDep
) -> Response:
    async def work(session: AsyncSession) -> Webhook:
        return await hooks.register(
            session,
            caller,
            url=body.url,
            event_types=body.event_types,
            allow_private=settings.webhook_allow_private,
        )

    return await run_write(request, work, WebhookCreated.model_validate, status_code=201)


@router.get(
    "/webhooks",
    response_model=list[WebhookOut],
    responses=error_responses(401, 403),
    summary="Your webhooks",
)
async def list_webhooks(caller: CallerDep, database: DatabaseDep) -> list[WebhookOut]:
    async with database.read() as session:
        return [_webhook_out(w) for w in await hooks.list_webhooks(session, caller)]


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    responses=error_responses(401, 403, 404),
    summary="Remove a webhook; deliveries not yet made are cancelled",
)
async def delete_webhook(request: Request, webhook_id: uuid.UUID, caller: CallerDep) -> Response:
    return await run_write(
        request, lambda s: hooks.remove(s, caller, webhook_id), lambda _: None, status_code=204
    )


@router.post(
    "/webhooks/{webhook_id}/enable",
    response_model=WebhookOut,
    responses=error_responses(401, 403, 404),
    summary="Re-enable a webhook that was disabled after failures",
)
async def enable_webhook(request: Request, webhook_id: uuid.UUID, caller: CallerDep) -> Response:
    return await run_write(
        request, lambda s: hooks.enable(s, caller, webhook_id), _webhook_out, status_code=200
    )


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=list[DeliveryOut],
    responses=error_responses(401, 403, 404),
    summary="The delivery log: newest deliveries first, each with every attempt",
)
async def list_deliveries(
    webhook_id: uuid.UUID, caller: CallerDep, database: DatabaseDep, limit: Limit = 50
) -> list[DeliveryOut]:
    async with database.read() as session:
        logged = await hooks.deliveries(session, caller, webhook_id, limit=limit)
    return [
        DeliveryOut(
            id=item.delivery.id,
            event_id=item.event.id,
            event_type=item.event.type,
            status=item.delivery.status,
            next_attempt_at=item.delivery.next_attempt_at
            if item.delivery.status == "pending"
            else None,
            delivered_at=item.delivery.delivered_at,
            created_at=item.delivery.created_at,
            attempts=[AttemptOut.model_validate(a) for a in item.attempts],
        )
        for item in logged
    ]
