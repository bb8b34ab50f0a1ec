"""The due-work loop: inside every app process, and standalone as `tributary worker`.

It wakes every `TRIBUTARY_DUE_WORK_INTERVAL_SECONDS`, runs `run_due_work`, and stops
between runs when asked, so a shutdown never interrupts a job halfway (each job is one
transaction anyway: an interrupted one rolls back and is picked up again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app.db import Database
from app.domain.due_work import run_due_work
from app.domain.events.dispatch import WebhookConfig, deliver_due
from app.ledger import TreeSigner
from app.settings import Settings

log = logging.getLogger(__name__)


def webhook_config(settings: Settings) -> WebhookConfig:
    return WebhookConfig(
        allow_private=settings.webhook_allow_private,
        timeout_seconds=settings.webhook_timeout_seconds,
        retry_scale=settings.webhook_retry_scale,
        disable_after=settings.webhook_disable_after,
    )


async def due_work_loop(
    database: Database,
    interval_seconds: float,
    stop: asyncio.Event,
    signer: TreeSigner | None = None,
    webhooks: WebhookConfig | None = None,
) -> None:
    while not stop.is_set():
        try:
            report = await run_due_work(database, signer=signer)
            done = {name: count for name, count in report.processed.items() if count}
            if done:
                log.info("due work processed %s", done)
        except Exception:
            log.exception("due work round failed")
        if webhooks is not None:
            try:
                sent = await deliver_due(database, webhooks)
                if sent:
                    log.info("webhook deliveries attempted: %s", sent)
            except Exception:
                log.exception("webhook delivery round failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
        except TimeoutError:
            continue


class DueWorkRunner:
    """Starts the loop as a task and stops it cleanly (used by the app's lifespan)."""

    def __init__(
        self,
        database: Database,
        interval_seconds: float,
        signer: Callable[[], TreeSigner | None] = lambda: None,
        webhooks: WebhookConfig | None = None,
    ) -> None:
        self.database = database
        self.interval_seconds = interval_seconds
        self.signer = signer
        self.webhooks = webhooks
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval_seconds > 0 and self._task is None:
            self._task = asyncio.create_task(
                due_work_loop(
                    self.database, self.interval_seconds, self._stop, self.signer(), self.webhooks
                ),
                name="tributary-due-work",
            )

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
