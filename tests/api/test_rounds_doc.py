"""docs/rounds.md's examples work exactly as written: its Python block runs, its request
body is sent as it stands, and the projection it shows is what the API answers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.support.market import funder, open_challenge, pledge

DOC = Path(__file__).resolve().parents[2] / "docs" / "rounds.md"
MARKER = "<!-- tests/api/test_rounds_doc.py "


def _blocks() -> list[tuple[str, str]]:
    """(language, body) of every block that follows one of this test's markers."""
    text = DOC.read_text(encoding="utf-8")
    found = []
    for start in [m.end() for m in re.finditer(re.escape(MARKER), text)]:
        block = re.search(r"```(\w+)\n(.*?)```", text[start:], re.DOTALL)
        assert block is not None
        found.append((block.group(1), block.group(2)))
    return found


def _filled(raw: str, names: dict[str, str]) -> Any:
    for name, value in names.items():
        raw = raw.replace("{" + name + "}", value)
    return json.loads(raw)


def test_the_doc_keeps_its_three_tested_examples() -> None:
    assert [language for language, _ in _blocks()] == ["python", "json", "json"]


def test_the_python_example_runs() -> None:
    (_, code), *_ = _blocks()
    exec(compile(code, str(DOC), "exec"), {})  # noqa: S102 - the doc's own example, as written


async def test_the_http_example_answers_as_documented(client: httpx.AsyncClient) -> None:
    _, (_, request), (_, expected) = _blocks()
    sponsor = await funder(client, 100_000)
    a, _ = await open_challenge(client, title="A")
    b, _ = await open_challenge(client, title="B")
    names = {
        "A": a["id"],
        "B": b["id"],
        "starts_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "ends_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    }
    made = await client.post("/v1/rounds", json=_filled(request, names), headers=sponsor.headers)
    assert made.status_code == 201, made.text
    for _ in range(4):
        assert (await pledge(client, await funder(client, 2_500), a["id"], amount=2_500)).is_success
    assert (await pledge(client, await funder(client, 10_000), b["id"], amount=10_000)).is_success
    shown = (await client.get(f"/v1/rounds/{made.json()['id']}")).json()["challenges"]
    wanted = _filled(expected, names)
    assert [{key: item[key] for key in wanted[0]} for item in shown] == wanted
