"""The ASGI application: `app.main:app` for uvicorn, `create_app()` for tests and tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.api import (
    assurance,
    audit,
    benchmarks,
    bids,
    challenges,
    claims,
    dashboard,
    disputes,
    events,
    health,
    ledger,
    milestones,
    money,
    orgs,
    pledges,
    public,
    reports,
    rounds,
    swagger_ui,
    swarms,
)
from app.api.errors import install_error_handlers
from app.api.flows_cache import FlowsCache
from app.api.key_cache import KeyCache
from app.api.middleware import EdgeMiddleware
from app.api.openapi_doc import install as install_openapi
from app.api.query import refuse_unknown_query
from app.api.ratelimit import build_caller_limits
from app.db import Database
from app.settings import Settings, get_settings
from app.signing_key import SignerSource
from app.worker import DueWorkRunner, webhook_config

STATIC_DIR = Path(__file__).resolve().parent / "static"
API_DESCRIPTION = (
    "Tributary is an open market for pooled, outcome-based funding of shared challenges. "
    "Every error is `application/problem+json` (RFC 9457) with a machine-readable `code`."
)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the app around one Database; the caller that passes a database owns it."""
    settings = settings or get_settings()
    owns_database = database is None
    db = database or Database.from_settings(settings)
    rate_limits = build_caller_limits(settings)

    signer_source = SignerSource(settings)
    due_work = DueWorkRunner(
        db, settings.due_work_interval_seconds, signer_source.get, webhook_config(settings)
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        due_work.start()
        yield
        await due_work.stop()
        await rate_limits.close()
        if owns_database:
            await db.dispose()

    app = FastAPI(
        title="Tributary",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(refuse_unknown_query)],
        # /docs is served by app.api.swagger_ui from the app's own files (no CDN); no ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = db
    app.state.rate_limits = rate_limits
    app.state.key_cache = KeyCache()
    app.state.flows_cache = FlowsCache()
    app.state.signer_source = signer_source
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(health.router)
    app.include_router(orgs.router)
    app.include_router(money.router)
    app.include_router(challenges.router)
    app.include_router(milestones.router)
    app.include_router(pledges.router)
    app.include_router(swarms.router)
    app.include_router(bids.router)
    app.include_router(claims.router)
    app.include_router(assurance.router)
    app.include_router(disputes.router)
    app.include_router(ledger.router)
    app.include_router(audit.router)
    app.include_router(events.router)
    app.include_router(public.router)
    app.include_router(rounds.router)
    app.include_router(benchmarks.router)
    app.include_router(reports.router)
    app.include_router(dashboard.router)
    app.include_router(swagger_ui.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.max_body_bytes)
    return app


def _app_from_environment() -> FastAPI:
    """The app uvicorn imports; a bad setting ends the process with one line. On the embedded
    default with no TRIBUTARY_ADMIN_TOKEN, the admin is the generated token file's."""
    from app.admin_token import with_admin_token
    from app.logs import configure_logging
    from app.settings import SettingsError
    from app.signing_key import require_sealing_key

    try:
        settings = with_admin_token(get_settings())
        require_sealing_key(settings)
    except SettingsError as error:
        raise SystemExit(f"tributary: {error}") from None
    configure_logging(settings.log_level, json_output=settings.log_json)
    return create_app(settings)


def __getattr__(name: str) -> FastAPI:
    """Create `app` on first access, so importing this module has no side effects."""
    if name == "app":
        application = _app_from_environment()
        globals()["app"] = application
        return application
    raise AttributeError(name)
