"""The committed OpenAPI document is the app's own; drift fails with the fix in the message."""

from __future__ import annotations

from pathlib import Path

from app.cli import render_openapi
from app.main import create_app
from app.settings import Settings

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
REGENERATE = "tributary openapi > openapi/openapi.json"


def test_committed_openapi_matches_the_app(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/x.db"))
    current = render_openapi(app) + "\n"
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    assert current == committed, f"openapi/openapi.json is stale; regenerate it with: {REGENERATE}"
