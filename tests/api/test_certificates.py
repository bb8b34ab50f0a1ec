"""Impact certificates (issue 19): a funder's proof of what its money bought, checked offline
by tools/verify_ledger_proof.py with nothing but the log's public key."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db import Database
from app.domain.delivery import payouts
from tests.support.factories import ADMIN
from tests.support.impact import Paid, paid_milestone
from tests.support.signing import seal_everything

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_ledger_proof.py"


def run_tool(tmp_path: Path, certificate: dict[str, Any], key: dict[str, Any]) -> tuple[int, str]:
    (tmp_path / "cert.json").write_text(json.dumps(certificate))
    (tmp_path / "key.json").write_text(json.dumps(key))
    done = subprocess.run(
        [
            sys.executable,
            str(TOOL),
            "certificate",
            "--certificate",
            "cert.json",
            "--key",
            "key.json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


async def sealed_certificate(client: httpx.AsyncClient, database: Database) -> tuple[Paid, Any]:
    paid = await paid_milestone(client)
    url = f"/v1/orgs/{paid.funder_a.id}/certificates/{paid.milestone['id']}"
    waiting = await client.get(url, headers=paid.funder_a.headers)
    assert (waiting.status_code, waiting.json()["code"]) == (404, "not_sealed")
    await seal_everything(database)
    answer = await client.get(url, headers=paid.funder_a.headers)
    assert answer.status_code == 200, answer.text
    return paid, answer.json()


async def test_a_sealed_certificate_states_what_the_money_bought_and_verifies_offline(
    client: httpx.AsyncClient, database: Database, tmp_path: Path
) -> None:
    paid, certificate = await sealed_certificate(client, database)
    assert {k: certificate[k] for k in ("amount_paid", "units", "unit", "metric", "currency")} == {
        "amount_paid": 180_000,
        "units": "90",
        "unit": "households",
        "metric": "households with safe water",
        "currency": "USD",
    }
    assert certificate["funder_org_id"] == paid.funder_a.id
    assert certificate["challenge_id"] == paid.challenge["id"]
    [entry] = certificate["entries"]
    assert json.loads(entry["leaf"])["entry_id"] == entry["entry_id"]
    assert {"entry_id", "leaf", "leaf_index", "audit_path"} <= set(entry)
    key = (await client.get("/v1/public/ledger/key")).json()
    status, output = run_tool(tmp_path, certificate, key)
    assert status == 0, output
    assert "OK certificate: 180000 minor units of USD paid for 90 households" in output


def _tamper_amount(c: dict[str, Any]) -> None:
    c["amount_paid"] = 190_000


def _tamper_units(c: dict[str, Any]) -> None:
    c["units"] = "95"


def _tamper_leaf(c: dict[str, Any]) -> None:
    leaf = json.loads(c["entries"][0]["leaf"])
    leaf["postings"][0]["debit"] += 1
    c["entries"][0]["leaf"] = json.dumps(leaf, sort_keys=True, separators=(",", ":"))


def _tamper_signature(c: dict[str, Any]) -> None:
    raw = bytearray(base64.b64decode(c["tree_head"]["signature"]))
    raw[5] ^= 1
    c["tree_head"]["signature"] = base64.b64encode(bytes(raw)).decode()


def _tamper_meta(c: dict[str, Any]) -> None:
    c["entries"][0]["meta"]["verified_value"] = "200"
    c["verified_value"] = "200"
    c["units"] = "120"


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (_tamper_amount, "amount_paid"),
        (_tamper_units, "units of"),
        (_tamper_leaf, "do not lead to the root hash"),
        (_tamper_signature, "signature"),
        (_tamper_meta, "not the one its leaf commits to"),
    ],
)
async def test_a_tampered_certificate_does_not_verify(
    client: httpx.AsyncClient, database: Database, tmp_path: Path, tamper: Any, says: str
) -> None:
    _, certificate = await sealed_certificate(client, database)
    key = (await client.get("/v1/public/ledger/key")).json()
    changed = copy.deepcopy(certificate)
    tamper(changed)
    status, output = run_tool(tmp_path, changed, key)
    assert status == 1, output
    assert "FAILED" in output, output
    assert says in output, output


async def test_only_a_funder_whose_money_paid_gets_a_certificate(
    client: httpx.AsyncClient, database: Database
) -> None:
    paid = await paid_milestone(client)
    await seal_everything(database)
    url = f"/v1/orgs/{{org}}/certificates/{paid.milestone['id']}"
    for org, headers, status in (
        (paid.funder_b.id, paid.funder_b.headers, 200),
        (paid.funder_a.id, ADMIN, 200),
        (paid.funder_a.id, paid.funder_b.headers, 404),  # another org's certificate
        (paid.lead.id, paid.lead.headers, 404),  # was paid, but funded nothing
        (paid.funder_a.id, {}, 401),
    ):
        answer = await client.get(url.format(org=org), headers=headers)
        assert answer.status_code == status, (org, answer.text)
    b = (await client.get(url.format(org=paid.funder_b.id), headers=ADMIN)).json()
    assert (b["amount_paid"], b["units"]) == (120_000, "60")
    unknown = await client.get(
        f"/v1/orgs/{paid.funder_a.id}/certificates/{paid.challenge['id']}", headers=ADMIN
    )
    assert unknown.status_code == 404


async def test_a_payout_written_in_several_entries_certifies_each_funders_part(
    client: httpx.AsyncClient,
    database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One pledge per ledger entry, as a payout over more than 100 pledges is cut into parts.
    monkeypatch.setattr(
        payouts, "chunked", lambda items: [items[i : i + 1] for i in range(len(items))]
    )
    paid = await paid_milestone(client)
    await seal_everything(database)
    key = (await client.get("/v1/public/ledger/key")).json()
    seen = set()
    for org, amount, units in ((paid.funder_a, 180_000, "90"), (paid.funder_b, 120_000, "60")):
        answer = await client.get(
            f"/v1/orgs/{org.id}/certificates/{paid.milestone['id']}", headers=org.headers
        )
        certificate = answer.json()
        assert (certificate["amount_paid"], certificate["units"]) == (amount, units)
        [entry] = certificate["entries"]
        assert entry["meta"]["parts"] == 2
        seen.add(entry["entry_id"])
        status, output = run_tool(tmp_path, certificate, key)
        assert status == 0, output
    assert len(seen) == 2  # each funder's money went out in its own part
