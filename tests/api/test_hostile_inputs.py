"""No input gets a 500: hostile values in every field of every operation are a 4xx problem.

The operations come from the app's own OpenAPI document, so a new endpoint is swept as soon
as it exists (and this test fails until it has an example body below). Each request goes to
real objects of a world built through the API, as the platform admin and as an organisation
holding every role, so a value the validation lets through would reach the domain and the
database. Afterwards every table holds exactly what it held before (bar the audit trail,
which records refused requests on purpose), and the ledger still verifies (conftest).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.db import Database
from app.main import create_app
from app.settings import Settings
from tests.support.factories import ADMIN, OrgHandle, make_org
from tests.support.hostile import Probe, body_probes, query_probes, snapshot
from tests.support.market import future

PROBLEM = "application/problem+json"
ALL_ROLES = ("funder", "actor", "verifier", "steward")

# A valid body per operation, with every nested object present, written against the world.
EXAMPLE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/orgs"): {"name": "Hostile", "roles": ["funder"], "public_name": "H"},
    ("POST", "/v1/orgs/{org_id}/api-keys"): {"label": "hostile"},
    ("POST", "/v1/orgs/{org_id}/deposits"): {
        "amount": 100,
        "currency": "USD",
        "external_ref": "hostile-{nonce}",
    },
    ("POST", "/v1/orgs/{org_id}/deposits/batch"): {
        "items": [{"amount": 100, "currency": "USD", "external_ref": "hostile-batch-{nonce}"}]
    },
    ("POST", "/v1/orgs/{org_id}/withdrawals"): {"amount": 1, "currency": "USD"},
    ("POST", "/v1/challenges"): {
        "title": "Hostile",
        "description": "d",
        "currency": "USD",
        "sdg_targets": ["6.1"],
        "region": "KE",
        "closes_at": "{future}",
        "dispute_window_seconds": 0,
        "host_fee_bps": 0,
        "host_org_id": "{org_id}",
    },
    ("POST", "/v1/challenges/{challenge_id}/milestones"): {
        "title": "M",
        "description": "d",
        "metric": "wells",
        "unit": "wells",
        "target": 5,
        "payout_rule": "pro_rata",
        "budget_cap": 100,
        "quorum": 1,
        "due_at": "{future}",
        "verification_window_seconds": 3600,
        "sdg_targets": ["6.1"],
        "verifier_fee": 0,
    },
    ("POST", "/v1/challenges/{challenge_id}/pledges"): {
        "amount": 10,
        "kind": "threshold",
        "threshold_amount": 10**9,
        "deadline": "{future}",
        "expires_at": "{later}",
        "earmark": {"milestone_ids": ["{open_milestone_id}"], "sdg_targets": ["6.1"]},
        "on_expiry": "refund",
        "on_completion": "refund",
        "anonymous": False,
    },
    ("POST", "/v1/pledges/batch"): {
        "items": [
            {
                "challenge_id": "{challenge_id}",
                "amount": 10,
                "kind": "threshold",
                "threshold_amount": 10**9,
                "deadline": "{future}",
                "expires_at": "{later}",
                "earmark": {"milestone_ids": ["{open_milestone_id}"], "sdg_targets": ["6.1"]},
                "on_expiry": "refund",
                "on_completion": "refund",
                "anonymous": False,
            }
        ]
    },
    ("POST", "/v1/swarms"): {"name": "S", "members": [{"org_id": "{org_id}", "share_bps": 10_000}]},
    ("POST", "/v1/milestones/{milestone_id}/bids"): {
        "swarm_id": "{swarm_id}",
        "amount": 5,
        "plan": "p",
    },
    ("POST", "/v1/challenges/{challenge_id}/assurance-bonus"): {"amount": 100, "bonus_bps": 250},
    ("PUT", "/v1/milestones/{milestone_id}/verifiers"): {"org_ids": ["{verifier_id}"]},
    ("POST", "/v1/milestones/{milestone_id}/claims"): {
        "reported_value": 1,
        "evidence": [{"uri": "https://e.example/r", "sha256": "0" * 64, "note": "n"}],
    },
    ("POST", "/v1/claims/{claim_id}/attestations"): {
        "verdict": "approve",
        "value": 1,
        "note": "n",
    },
    ("POST", "/v1/rounds"): {
        "name": "Hostile round",
        "currency": "USD",
        "matching_pool": 100,
        "challenge_ids": ["{challenge_id}"],
        "starts_at": "{future}",
        "ends_at": "{later}",
        "floor_bps": 2_000,
    },
    ("POST", "/v1/claims/{claim_id}/disputes"): {"reason": "The survey counted dry wells."},
    ("PUT", "/v1/disputes/{dispute_id}/panel"): {
        "org_ids": ["{panel_1}", "{panel_2}", "{panel_3}"]
    },
    ("POST", "/v1/disputes/{dispute_id}/attestations"): {
        "verdict": "approve",
        "value": 1,
        "note": "n",
    },
    ("POST", "/v1/webhooks"): {"url": "http://127.0.0.1:9/hook", "event_types": ["pledge.created"]},
    ("POST", "/v1/milestones/{milestone_id}/retender"): {
        "due_at": "{future}",
        "target": 10,
        "budget_cap": 100,
        "quorum": 1,
    },
}
# Path parameters that name a different object than the world's default for that name.
PATH_OVERRIDES: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/v1/milestones/{milestone_id}/bids"): {"milestone_id": "open_milestone_id"},
    ("PUT", "/v1/milestones/{milestone_id}/verifiers"): {"milestone_id": "open_milestone_id"},
    ("POST", "/v1/milestones/{milestone_id}/retender"): {"milestone_id": "ended_milestone_id"},
    ("POST", "/v1/claims/{claim_id}/disputes"): {"claim_id": "verified_claim_id"},
    ("POST", "/v1/disputes/{dispute_id}/attestations"): {"dispute_id": "panel_dispute_id"},
}
REQUIRED_QUERY = {"first": "1", "second": "1"}


@dataclass(frozen=True)
class World:
    org: OrgHandle  # holds every role
    ids: dict[str, str]


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, response.text
    return dict(response.json()) if response.content else {}


async def _milestone(client: httpx.AsyncClient, challenge_id: str, steward: OrgHandle) -> str:
    body = {**EXAMPLE_BODIES[("POST", "/v1/challenges/{challenge_id}/milestones")]}
    body["due_at"] = future(60)
    made = await client.post(
        f"/v1/challenges/{challenge_id}/milestones", json=body, headers=steward.headers
    )
    return str(_ok(made)["id"])


async def _awarded(
    client: httpx.AsyncClient,
    steward: OrgHandle,
    lead: OrgHandle,
    verifier: OrgHandle,
    ids: dict[str, str],
    challenge_id: str,
) -> tuple[str, str]:
    """A milestone awarded to a swarm led by `lead`, verified by `verifier`: (milestone, swarm)."""
    milestone_id = await _milestone(client, challenge_id, steward)
    swarm = _ok(
        await client.post(
            "/v1/swarms",
            json={"name": "S", "members": [{"org_id": lead.id, "share_bps": 10_000}]},
            headers=lead.headers,
        )
    )
    bid = _ok(
        await client.post(
            f"/v1/milestones/{milestone_id}/bids",
            json={"swarm_id": swarm["id"], "amount": 10, "plan": "p"},
            headers=lead.headers,
        )
    )
    _ok(await client.post(f"/v1/bids/{bid['id']}/award", headers=steward.headers))
    _ok(
        await client.put(
            f"/v1/milestones/{milestone_id}/verifiers",
            json={"org_ids": [verifier.id]},
            headers=steward.headers,
        )
    )
    ids.setdefault("bid_id", bid["id"])
    return milestone_id, swarm["id"]


async def _hosted_challenge(client: httpx.AsyncClient, **fields: Any) -> tuple[OrgHandle, str]:
    """Another steward's open challenge, funded by another funder: where the org's swarm
    can be awarded and the org can verify without a conflict of interest."""
    host, backer = await make_org(client, "steward"), await make_org(client, "funder")
    _ok(
        await client.post(
            f"/v1/orgs/{backer.id}/deposits",
            json={"amount": 100_000, "currency": "USD", "external_ref": f"seed-{backer.id}"},
            headers=ADMIN,
        )
    )
    challenge = _ok(
        await client.post(
            "/v1/challenges",
            json={"title": "Hosted", "currency": "USD", "sdg_targets": ["6.1"], **fields},
            headers=host.headers,
        )
    )
    _ok(await client.post(f"/v1/challenges/{challenge['id']}/open", headers=host.headers))
    _ok(
        await client.post(
            f"/v1/challenges/{challenge['id']}/pledges",
            json={"amount": 1_000, "kind": "direct"},
            headers=backer.headers,
        )
    )
    return host, challenge["id"]


async def _not_achieved(
    client: httpx.AsyncClient,
    steward: OrgHandle,
    lead: OrgHandle,
    verifier: OrgHandle,
    ids: dict[str, str],
    challenge: dict[str, Any],
) -> str:
    """A milestone of the org's challenge verified at 0: not achieved, so re-tenderable."""
    ended, _ = await _awarded(client, steward, lead, verifier, ids, challenge["id"])
    claim = _ok(
        await client.post(
            f"/v1/milestones/{ended}/claims",
            json={"reported_value": 0, "evidence": [{"uri": "https://e.example/r"}]},
            headers=lead.headers,
        )
    )
    _ok(
        await client.post(
            f"/v1/claims/{claim['id']}/attestations",
            json={"verdict": "approve", "value": 0},
            headers=verifier.headers,
        )
    )
    return ended


async def _verified(
    client: httpx.AsyncClient,
    steward: OrgHandle,
    lead: OrgHandle,
    verifier: OrgHandle,
    ids: dict[str, str],
    challenge_id: str,
) -> str:
    """A claim verified on a challenge with a dispute window: its milestone pays later."""
    milestone_id, _ = await _awarded(client, steward, lead, verifier, ids, challenge_id)
    claim = _ok(
        await client.post(
            f"/v1/milestones/{milestone_id}/claims",
            json={"reported_value": 5, "evidence": [{"uri": "https://e.example/r"}]},
            headers=lead.headers,
        )
    )
    _ok(
        await client.post(
            f"/v1/claims/{claim['id']}/attestations",
            json={"verdict": "approve", "value": 5},
            headers=verifier.headers,
        )
    )
    return str(claim["id"])


async def _disputes(
    client: httpx.AsyncClient, org: OrgHandle, lead: OrgHandle, ids: dict[str, str]
) -> None:
    """On challenges with a dispute window: a claim the org verified (it may dispute it), a
    dispute on the org's own challenge (it appoints the panel) and a dispute on another
    steward's whose panel the org sits on (it attests)."""
    verifier = await make_org(client, "verifier")
    panel = [await make_org(client, "verifier") for _ in range(5)]
    ids.update({f"panel_{n}": p.id for n, p in enumerate(panel, start=1)})
    host, hosted = await _hosted_challenge(client, dispute_window_seconds=3_600)
    ids["verified_claim_id"] = await _verified(client, host, lead, org, ids, hosted)
    contested = await _verified(client, host, lead, verifier, ids, hosted)
    dispute = _ok(
        await client.post(
            f"/v1/claims/{contested}/disputes", json={"reason": "r"}, headers=host.headers
        )
    )
    _ok(
        await client.put(
            f"/v1/disputes/{dispute['id']}/panel",
            json={"org_ids": [org.id, panel[3].id, panel[4].id]},
            headers=host.headers,
        )
    )
    ids["panel_dispute_id"] = dispute["id"]
    own = _ok(
        await client.post(
            "/v1/challenges",
            json={"title": "Own", "currency": "USD", "sdg_targets": ["6.1"]}
            | {"dispute_window_seconds": 3_600},
            headers=org.headers,
        )
    )
    _ok(await client.post(f"/v1/challenges/{own['id']}/open", headers=org.headers))
    backer = await make_org(client, "funder")
    _ok(
        await client.post(
            f"/v1/orgs/{backer.id}/deposits",
            json={"amount": 1_000, "currency": "USD", "external_ref": f"seed-{backer.id}"},
            headers=ADMIN,
        )
    )
    _ok(
        await client.post(
            f"/v1/challenges/{own['id']}/pledges",
            json={"amount": 1_000, "kind": "direct"},
            headers=backer.headers,
        )
    )
    claim_id = await _verified(client, org, lead, verifier, ids, own["id"])
    disputed = await client.post(
        f"/v1/claims/{claim_id}/disputes", json={"reason": "r"}, headers=org.headers
    )
    ids["dispute_id"] = _ok(disputed)["id"]


async def build_world(client: httpx.AsyncClient) -> World:
    """The org (every role) stewards an open challenge it funded. On another steward's
    challenge its swarm won one milestone (claims go there), and it verifies a second, won
    and claimed by another actor's swarm (attestations go there); it may bid on an open
    milestone of its own challenge."""
    org = await make_org(client, *ALL_ROLES)
    lead = await make_org(client, "actor")
    verifier = await make_org(client, "verifier")
    deposit = _ok(
        await client.post(
            f"/v1/orgs/{org.id}/deposits",
            json={"amount": 100_000, "currency": "USD", "external_ref": f"seed-{org.id}"},
            headers=ADMIN,
        )
    )
    spare_key = _ok(await client.post(f"/v1/orgs/{org.id}/api-keys", json={}, headers=ADMIN))
    challenge = _ok(
        await client.post(
            "/v1/challenges",
            json={"title": "World", "currency": "USD", "sdg_targets": ["6.1"]},
            headers=org.headers,
        )
    )
    ids = {
        "org_id": org.id,
        "key_id": spare_key["id"],
        "challenge_id": challenge["id"],
        "entry_id": deposit["entry_id"],
        "verifier_id": verifier.id,
    }
    _ok(await client.post(f"/v1/challenges/{challenge['id']}/open", headers=org.headers))
    direct = await client.post(
        f"/v1/challenges/{challenge['id']}/pledges",
        json={"amount": 1_000, "kind": "direct"},
        headers=org.headers,
    )
    ids["pledge_id"] = _ok(direct)["id"]
    host, hosted = await _hosted_challenge(client)
    ids["milestone_id"], ids["swarm_id"] = await _awarded(client, host, org, verifier, ids, hosted)
    claimed, _ = await _awarded(client, host, lead, org, ids, hosted)
    claim = _ok(
        await client.post(
            f"/v1/milestones/{claimed}/claims",
            json={"reported_value": 1, "evidence": [{"uri": "https://e.example/r"}]},
            headers=lead.headers,
        )
    )
    ids["claim_id"] = claim["id"]
    ids["open_milestone_id"] = await _milestone(client, challenge["id"], org)
    ids["ended_milestone_id"] = await _not_achieved(client, org, lead, verifier, ids, challenge)
    await _disputes(client, org, lead, ids)
    hook = await client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"]},
        headers=org.headers,
    )
    ids["webhook_id"] = _ok(hook)["id"]
    round_body = _fill(EXAMPLE_BODIES[("POST", "/v1/rounds")], World(org=org, ids=ids))
    ids["round_id"] = _ok(await client.post("/v1/rounds", json=round_body, headers=org.headers))[
        "id"
    ]
    return World(org=org, ids=ids)


def _fill(value: Any, world: World) -> Any:
    if isinstance(value, str):
        return value.format(
            **world.ids, nonce=uuid.uuid4().hex, future=future(30), later=future(90)
        )
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as documented, with {parameters}
    spec: dict[str, Any]

    def url(self, world: World) -> str:
        names = {**world.ids}
        for parameter, source in PATH_OVERRIDES.get((self.method, self.path), {}).items():
            names[parameter] = world.ids[source]
        missing = set(re.findall(r"{(\w+)}", self.path)) - set(names)
        assert not missing, f"build_world makes no object for {missing} of {self.path}"
        return self.path.format(**names)


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            yield Operation(method.upper(), path, spec)


def probes_of(operation: Operation, document: dict[str, Any], world: World) -> Iterator[Probe]:
    content = operation.spec.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        key = (operation.method, operation.path)
        assert key in EXAMPLE_BODIES, f"{key} needs an example body in EXAMPLE_BODIES"
        example = _fill(EXAMPLE_BODIES[key], world)
        yield from body_probes(content["application/json"]["schema"], document, example)
    parameters = operation.spec.get("parameters", [])
    yield from query_probes(parameters, document, REQUIRED_QUERY)


def principals(world: World) -> dict[str, dict[str, str]]:
    return {"admin": ADMIN, "org": world.org.headers}


def refusal_problem(response: httpx.Response, probe: Probe) -> str | None:
    """Why the answer is not the refusal the probe calls for (None when it is)."""
    if response.status_code != 422 or response.headers.get("content-type") != PROBLEM:
        return f"{response.status_code} {response.text[:300]}"
    body = response.json()
    if probe.kind == "cursor":
        return None if body["code"] == "invalid_cursor" else f"code {body['code']}"
    if body["code"] != "validation_error":
        return f"code {body['code']}: {body['detail']}"
    # A list of plain values may be named as a whole rather than by its item's index.
    wanted = {probe.loc, tuple(part for part in probe.loc if not isinstance(part, int))}
    named = {tuple(error["loc"]) for error in body.get("errors", [])}
    return None if named & wanted else f"names {sorted(named, key=str)}, not {probe.loc}"


# What a message written for people never shows: Python's lists, dicts and reprs.
PYTHON_LOOKS = ("['", "[]", "{'", "Decimal(", "UUID(", "datetime.")


def speaks_python(response: httpx.Response) -> bool:
    body = response.json()
    said = [str(body.get("detail", "")), *(str(e.get("msg")) for e in body.get("errors", []))]
    return any(looks in text for text in said for looks in PYTHON_LOOKS)


def judge(answers: dict[str, httpx.Response], probe: Probe) -> str | None:
    """Every answer is a 4xx problem (a principal without the right may be refused before
    validation, with 401/403/404) whose messages speak no Python, and at least one is the
    refusal the probe calls for."""
    wrong = {
        who: f"{r.status_code} {r.text[:300]}"
        for who, r in answers.items()
        if not 400 <= r.status_code < 500
        or r.headers.get("content-type") != PROBLEM
        or speaks_python(r)
    }
    if wrong:
        return str(wrong)
    reasons = {who: refusal_problem(r, probe) for who, r in answers.items()}
    return None if None in reasons.values() else str(reasons)


@dataclass(frozen=True)
class Sweeper:
    client: httpx.AsyncClient
    database: Database
    document: dict[str, Any]

    async def sweep(self, kind: str) -> int:
        """Send every probe of `kind` to every operation as each principal; each must be
        refused as the probe says, and nothing stored may change. Returns how many were sent."""
        world = await build_world(self.client)
        before = await snapshot(self.database)
        sent, failures = 0, []
        for operation in operations(self.document):
            for probe in probes_of(operation, self.document, world):
                if probe.kind != kind:
                    continue
                answers = {
                    who: await self.client.request(
                        operation.method,
                        operation.url(world),
                        json=probe.body,
                        params=probe.query,
                        headers=headers,
                    )
                    for who, headers in principals(world).items()
                }
                sent += len(answers)
                if wrong := judge(answers, probe):
                    failures.append(f"{operation.method} {operation.path} {probe.label}: {wrong}")
        after = await snapshot(self.database)
        changed = sorted(table for table in before if before[table] != after.get(table))
        report = f"{len(failures)} of {sent} answers wrong; tables changed: {changed}\n"
        assert (failures, changed) == ([], []), report + "\n".join(failures)
        return sent


@pytest.fixture
async def sweeper(database: Database, settings: Settings) -> AsyncIterator[Sweeper]:
    """The app without rate limits (the sweep sends hundreds of requests with one key)."""
    app = create_app(settings.model_copy(update={"rate_limit_per_second": 0}), database)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Sweeper(http, database, app.openapi())


async def test_nul_in_any_string_of_a_body_or_query_is_422_naming_the_field(
    sweeper: Sweeper,
) -> None:
    assert await sweeper.sweep("nul") >= 80


async def test_instants_no_engine_can_store_are_422_naming_the_field(sweeper: Sweeper) -> None:
    assert await sweeper.sweep("instant") >= 16


async def test_integers_beyond_any_column_are_422_naming_the_field(sweeper: Sweeper) -> None:
    assert await sweeper.sweep("integer") > 50


async def test_garbage_cursors_on_every_list_are_422_invalid_cursor(sweeper: Sweeper) -> None:
    assert await sweeper.sweep("cursor") >= 4 * 2 * 10


async def test_the_example_bodies_pass_validation_so_the_probes_test_one_field_each(
    sweeper: Sweeper,
) -> None:
    """Each example is accepted by at least one principal: a probe's refusal is its field's."""
    world = await build_world(sweeper.client)
    checked = 0
    for operation in operations(sweeper.document):
        key = (operation.method, operation.path)
        if key not in EXAMPLE_BODIES:
            continue
        statuses = []
        for headers in principals(world).values():
            response = await sweeper.client.request(
                operation.method,
                operation.url(world),
                json=_fill(EXAMPLE_BODIES[key], world),
                headers=headers,
            )
            statuses.append(response.status_code)
        assert any(status < 300 for status in statuses), f"{key}: {statuses}"
        checked += 1
    assert checked == len(EXAMPLE_BODIES)


async def test_a_nul_in_the_path_is_refused_and_the_refusal_still_audited(
    client: httpx.AsyncClient,
) -> None:
    """The audit trail stores the path: a NUL in it must not cost the request its record."""
    for path in ("/v1/orgs/%00/api-keys", "/v1/no%00such"):
        response = await client.post(path, json={}, headers=ADMIN)
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == PROBLEM
    audit = await client.get("/v1/audit", headers=ADMIN)
    paths = [record["path"] for record in audit.json()["items"]]
    assert paths == ["/v1/orgs/%00/api-keys", "/v1/no%00such"]
