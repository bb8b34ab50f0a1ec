"""docs/mechanisms.md's worked examples run exactly as written.

The test builds the market the page assumes (a steward's open challenge for the bonus and
another with a households milestone, a sponsor, two threshold funders, a backer, an active
swarm and two verifiers), then sends every `http` request block of the page in order, with
`{name}` placeholders filled from that market, and checks each answer against the response
block after it: the status, and every field the page shows (a documented object is a
subset of the answer; a documented list has the answer's length, item by item). A comment
`<!-- due work` runs due work past the pledges' deadline at that point of the page.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from app.db import Database
from tests.api.test_delivery import milestone
from tests.support.factories import make_org
from tests.support.market import due_work_at, funder, open_challenge, pledge

DOC = Path(__file__).resolve().parents[2] / "docs" / "mechanisms.md"
BLOCK = re.compile(r"```http\n(.*?)```|<!-- due work", re.DOTALL)


def _steps() -> list[str | None]:
    """The page's http blocks in order; None where due work runs."""
    return [m.group(1) if m.group(1) is not None else None for m in BLOCK.finditer(DOC.read_text())]


def _fill(text: str, names: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: names[m.group(1)], text)


def _shows(documented: Any, actual: Any) -> bool:
    if isinstance(documented, dict):
        return isinstance(actual, dict) and all(
            key in actual and _shows(value, actual[key]) for key, value in documented.items()
        )
    if isinstance(documented, list):
        return (
            isinstance(actual, list)
            and len(documented) == len(actual)
            and all(_shows(d, a) for d, a in zip(documented, actual, strict=True))
        )
    return bool(documented == actual)


async def _market(client: httpx.AsyncClient) -> dict[str, str]:
    challenge, steward = await open_challenge(client)
    names = {"challenge": challenge["id"], "steward_key": steward.secret}
    delivering, _ = await open_challenge(client, steward, title="Household connections")
    households = await milestone(
        client, delivering["id"], steward, unit="households", target=1_000, budget_cap=600_000
    )
    names["milestone"] = households["id"]
    for name, amount in (("sponsor", 100_000), ("first", 300_000), ("second", 100_000)):
        org = await funder(client, amount)
        names[name], names[f"{name}_key"] = org.id, org.secret
    backer = await funder(client, 600_000)
    assert (await pledge(client, backer, delivering["id"], amount=600_000)).status_code == 201
    lead = await make_org(client, "actor")
    swarm = await client.post(
        "/v1/swarms",
        json={"name": "Pipes", "members": [{"org_id": lead.id, "share_bps": 10_000}]},
        headers=lead.headers,
    )
    assert swarm.status_code == 201, swarm.text
    names.update(swarm=swarm.json()["id"], lead_key=lead.secret)
    for name in ("verifier_a", "verifier_b"):
        verifier = await make_org(client, "verifier")
        names[name], names[f"{name}_key"] = verifier.id, verifier.secret
    names["tomorrow"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    return names


def _request(block: str, names: dict[str, str]) -> tuple[str, str, dict[str, str], Any]:
    head, _, body = _fill(block, names).partition("\n\n")
    request_line, *header_lines = head.strip().splitlines()
    method, path = request_line.split(" ", 1)
    headers = dict(line.split(": ", 1) for line in header_lines)
    return method, path, headers, json.loads(body) if body.strip() else None


async def test_every_example_of_the_mechanisms_page_answers_as_written(
    client: httpx.AsyncClient, database: Database
) -> None:
    names = await _market(client)
    steps = _steps()
    assert len(steps) >= 30, "docs/mechanisms.md lost its examples"
    position = 0
    while position < len(steps):
        step = steps[position]
        if step is None:
            await due_work_at(database, datetime.now(UTC) + timedelta(days=2))
            position += 1
            continue
        expected = steps[position + 1]
        assert expected is not None, step
        assert expected.startswith("HTTP/1.1 "), step
        method, path, headers, body = _request(step, names)
        answer = await client.request(method, path, headers=headers, json=body)
        status_line, _, documented = expected.partition("\n\n")
        assert answer.status_code == int(status_line.split()[1]), (step, answer.text)
        assert _shows(json.loads(documented), answer.json()), (step, answer.text)
        if method == "POST" and path.endswith(("/bids", "/claims")) and answer.is_success:
            names[path.rsplit("/", 1)[1][:-1]] = answer.json()["id"]
        position += 2
