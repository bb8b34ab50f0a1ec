"""docs/reports.md's recipe works exactly as written: a real server answers, and the shell
block runs verbatim with bash and curl in a folder holding only a copy of the tool."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.db import Database
from tests.support.impact import paid_milestone
from tests.support.servers import Server, start_server, stop_server
from tests.support.signing import seal_everything

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reports.md"
MARKER = "<!-- tests/api/test_reports_recipe.py runs the next block"


def recipe() -> str:
    text = DOC.read_text(encoding="utf-8")
    assert MARKER in text, "docs/reports.md lost its tested recipe"
    found = re.search(r"```sh\n(.*?)```", text[text.index(MARKER) :], re.DOTALL)
    assert found is not None
    return found.group(1)


@pytest.fixture
def server(database: Database, database_url: str, tmp_path: Path) -> Iterator[Server]:
    running = start_server(database_url, tmp_path, TRIBUTARY_DUE_WORK_INTERVAL_SECONDS="0")
    try:
        yield running
    finally:
        stop_server(running)


async def test_the_documented_reports_recipe_runs_as_written(
    client: httpx.AsyncClient, database: Database, server: Server, tmp_path: Path
) -> None:
    paid = await paid_milestone(client)
    await seal_everything(database)
    folder = tmp_path / "board"
    (folder / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "verify_ledger_proof.py", folder / "tools")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", recipe()],
        cwd=folder,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TRIBUTARY_URL": server.url,
            "TRIBUTARY_KEY": paid.funder_a.secret,
            "ORG_ID": paid.funder_a.id,
            "MILESTONE_ID": paid.milestone["id"],
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK certificate: 180000 minor units of USD paid for 90 ")
    impact = json.loads((folder / "impact.json").read_text())
    assert [(i["paid"], i["units"], i["cost_per_unit"]) for i in impact["items"]] == [
        (180_000, "90", 2_000)
    ]
    with (folder / "statement.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:6] == [
        "entry_id",
        "created_at",
        "kind",
        "currency",
        "amount",
        "amount_formatted",
    ]
    assert len(rows) == 3  # the header, the deposit, the pledge
