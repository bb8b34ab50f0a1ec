"""The `tributary` command: serve, migrate, worker, verify, demo, keygen, openapi, version.

Each command is a thin shell over the app: it reads the settings (one line naming the variable
when one is wrong) and calls the same code the HTTP API runs."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from typing import TYPE_CHECKING, Annotated

import typer

from app import __version__
from app.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from app.demo import DemoKey

cli = typer.Typer(
    help="Tributary: pooled, outcome-based funding of shared challenges.",
    epilog="Settings come from environment variables (DATABASE_URL, TRIBUTARY_*; see "
    "README.md). To try it: tributary demo, then tributary serve, then open "
    "http://127.0.0.1:8000/ and /docs.",
    no_args_is_help=True,
    add_completion=False,
    # Plain click help: Typer's Rich panels label every option with a Python type
    # (`--help <bool>`, `--host <str>`); plain help names values by their metavar alone.
    rich_markup_mode=None,
)


def _settings_or_exit(*, seals: bool = False) -> Settings:
    """The settings, or exit 2 with one line; `seals` for commands that run the sealer."""
    try:
        settings = load_settings()
        if seals:
            from app.signing_key import require_sealing_key

            require_sealing_key(settings)
        return settings
    except SettingsError as error:
        typer.echo(f"tributary: {error}", err=True)
        raise typer.Exit(code=2) from None


async def _migrate(settings: Settings) -> str | None:
    from app.db import create_engine
    from app.migrations import current_revision, upgrade

    engine = create_engine(settings)
    try:
        await upgrade(engine)
        return await current_revision(engine)
    finally:
        await engine.dispose()


@cli.command()
def migrate() -> None:
    """Upgrade the database schema to the latest migration."""
    settings = _settings_or_exit()
    revision = asyncio.run(_migrate(settings))
    typer.echo(f"database schema at {revision}")


@cli.command()
def serve(
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Interface to listen on; 0.0.0.0 for all.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="PORT", min=1, max=65535, help="TCP port to listen on.")
    ] = 8000,
    workers: Annotated[
        int, typer.Option(metavar="COUNT", min=1, max=64, help="Server processes to run.")
    ] = 1,
) -> None:
    """Run the HTTP service.

    On the embedded SQLite default the schema is migrated first; on PostgreSQL run
    `tributary migrate` before starting a new version."""
    import uvicorn

    from app.logs import configure_logging

    settings = _settings_or_exit(seals=True)
    configure_logging(settings.log_level, json_output=settings.log_json)
    generated = _generated_admin_or_exit(settings)
    if generated is not None:
        typer.echo(f"tributary: the admin token is in {generated[1]}", err=True)
    if settings.is_sqlite:
        asyncio.run(_migrate(settings))
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tributary-metrics-")
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
    )


@cli.command()
def openapi() -> None:
    """Print the OpenAPI document of this version of the API."""
    from app.main import create_app

    typer.echo(render_openapi(create_app(_settings_or_exit())))


@cli.command()
def worker(
    interval: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            min=0.05,
            help="Seconds between rounds; default: TRIBUTARY_DUE_WORK_INTERVAL_SECONDS "
            "(1 if unset or 0).",
        ),
    ] = None,
) -> None:
    """Run due work until SIGTERM or Ctrl-C.

    Due work is hold timeouts, pledge expiries, milestone due dates, ledger sealing and
    webhook deliveries; any number of workers and app processes can run it at once."""
    from app.logs import configure_logging

    settings = _settings_or_exit(seals=True)
    configure_logging(settings.log_level, json_output=settings.log_json)
    asyncio.run(_work(settings, interval or settings.due_work_interval_seconds or 1.0))


async def _work(settings: Settings, interval_seconds: float) -> None:
    import signal

    from app.db import Database
    from app.signing_key import load_signer
    from app.worker import due_work_loop, webhook_config

    database = Database.from_settings(settings)
    signer = load_signer(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await due_work_loop(database, interval_seconds, stop, signer, webhook_config(settings))
    finally:
        await database.dispose()


@cli.command()
def verify() -> None:
    """Check every invariant of the ledger; exit 1 if one is broken.

    Also checks that the public flow rollup equals the journal. Prints a JSON report."""
    settings = _settings_or_exit()
    report = asyncio.run(_verify(settings))
    typer.echo(json.dumps(report, indent=2))
    if not report["ok"]:
        raise typer.Exit(code=1)


async def _verify(settings: Settings) -> dict[str, object]:
    from dataclasses import asdict

    from app.db import Database
    from app.domain.ledger_audit import verify_all

    database = Database.from_settings(settings)
    try:
        async with database.snapshot() as session:
            return asdict(await verify_all(session))
    finally:
        await database.dispose()


def _generated_admin_or_exit(settings: Settings) -> tuple[str, str] | None:
    """The embedded default's admin token and the file it is kept in, generated if it has
    none yet (app/admin_token.py); None when the admin is the variable's, or there is none."""
    from app.admin_token import resolve_admin_token, token_file

    if settings.admin_token is not None:
        return None
    try:
        token = resolve_admin_token(settings)
    except SettingsError as error:
        typer.echo(f"tributary: {error}", err=True)
        raise typer.Exit(code=2) from None
    return None if token is None else (token, str(token_file(settings)))


def _echo_admin(settings: Settings) -> None:
    """Say how to act as the admin: the generated token itself (kept beside the database
    anyway), never the value of the variable."""
    generated = _generated_admin_or_exit(settings)
    if generated is not None:
        token, path = generated
        typer.echo(f"Admin token: {token}  (kept in {path})")
    elif settings.admin_token is not None:
        typer.echo("Admin token: the value of TRIBUTARY_ADMIN_TOKEN.")
    else:
        typer.echo("No admin: set TRIBUTARY_ADMIN_TOKEN to deposit money and create organisations.")


@cli.command()
def demo() -> None:
    """Fill the database with a small, realistic demo market.

    Prints the demo organisations' API keys and how to act as the admin. A second run
    changes nothing."""
    settings = _settings_or_exit()
    keys = asyncio.run(_demo(settings))
    if keys is None:
        typer.echo("The demo market is already in this database.")
    else:
        typer.echo("Demo market created. API keys (shown once):")
        for key in keys:
            typer.echo(f"  {key.org:<32} {','.join(key.roles):<9} {key.secret}")
    _echo_admin(settings)


async def _demo(settings: Settings) -> list[DemoKey] | None:
    from app.db import Database
    from app.demo import seed

    if settings.is_sqlite:
        await _migrate(settings)
    database = Database.from_settings(settings)
    try:
        return await seed(database)
    finally:
        await database.dispose()


@cli.command()
def keygen() -> None:
    """Print a new ledger signing key for TRIBUTARY_LEDGER_SIGNING_KEY."""
    from app.ledger import new_seed_b64

    typer.echo(new_seed_b64())


@cli.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def render_openapi(app: object) -> str:
    """The committed form of the OpenAPI document: stable key order, two-space indent."""
    schema = app.openapi()  # type: ignore[attr-defined]
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False)


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="tributary")  # also under `python -m app.cli`
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
