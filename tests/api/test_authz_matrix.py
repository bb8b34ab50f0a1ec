"""Every endpoint times every kind of caller gets exactly the status the API contract requires.

Later features add their endpoints to CASES. A world is built per case through the API:
the owning organisation (with the role the endpoint needs, or without it for the
`owner_without_role` column), another organisation holding every role, the admin, an
anonymous caller, a made-up key and a revoked key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.db import Database
from tests.support.factories import ADMIN, OrgHandle, bearer, make_org
from tests.support.signing import seal_everything

ALL_ROLES = ("funder", "actor", "verifier", "steward")
PRINCIPALS = (
    "anonymous",
    "invalid_key",
    "revoked_key",
    "other_org",
    "owner_without_role",
    "owner",
    "admin",
)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    expect: dict[str, int]
    body: Any = None
    role: str | None = None  # the role the owner needs; None = any organisation
    aliases: dict[str, str] = field(default_factory=dict)  # path parameter -> world value
    needs: str = ""  # "", "bid", "award", "claim", "round", "sealed" or "certified": how far
    # the world gets
    query: str = ""  # appended to the path as it is requested


def authenticated(**statuses: int) -> dict[str, int]:
    """Expectations for an authenticated endpoint: bad credentials are always 401."""
    return {"anonymous": 401, "invalid_key": 401, "revoked_key": 401, **statuses}


PUBLIC = {p: 200 for p in ("anonymous", "other_org", "owner", "admin")}

CASES = [
    Case("healthz", "GET", "/healthz", PUBLIC),
    Case("readyz", "GET", "/readyz", PUBLIC),
    Case("metrics", "GET", "/metrics", PUBLIC),
    Case(
        "create org",
        "POST",
        "/v1/orgs",
        authenticated(other_org=403, owner=403, admin=201),
        body={"name": "made-by-{principal}", "roles": ["funder"]},
    ),
    Case(
        "read org", "GET", "/v1/orgs/{org_id}", authenticated(other_org=404, owner=200, admin=200)
    ),
    Case("me", "GET", "/v1/me", authenticated(other_org=200, owner=200, admin=403)),
    Case(
        "issue key",
        "POST",
        "/v1/orgs/{org_id}/api-keys",
        authenticated(other_org=404, owner=201, admin=201),
        body={"label": "matrix"},
    ),
    Case(
        "list keys",
        "GET",
        "/v1/orgs/{org_id}/api-keys",
        authenticated(other_org=404, owner=200, admin=200),
    ),
    Case(
        "revoke key",
        "DELETE",
        "/v1/api-keys/{key_id}",
        authenticated(other_org=404, owner=204, admin=204),
    ),
    Case("audit", "GET", "/v1/audit", authenticated(other_org=403, owner=403, admin=200)),
    Case(
        "deposit",
        "POST",
        "/v1/orgs/{org_id}/deposits",
        authenticated(other_org=403, owner=403, admin=201),
        body={"amount": 100, "currency": "USD", "external_ref": "matrix-{principal}"},
    ),
    Case(
        "deposit batch",
        "POST",
        "/v1/orgs/{org_id}/deposits/batch",
        authenticated(other_org=403, owner=403, admin=201),
        body={
            "items": [{"amount": 100, "currency": "USD", "external_ref": "matrix-b-{principal}"}]
        },
    ),
    Case(
        "withdraw",
        "POST",
        "/v1/orgs/{org_id}/withdrawals",
        authenticated(other_org=404, owner=201, admin=403),
        body={"amount": 100, "currency": "USD"},
    ),
    Case(
        "balances",
        "GET",
        "/v1/orgs/{org_id}/balances",
        authenticated(other_org=404, owner=200, admin=200),
    ),
    Case(
        "statement",
        "GET",
        "/v1/orgs/{org_id}/statement",
        authenticated(other_org=404, owner=200, admin=200),
    ),
    Case(
        "impact report",
        "GET",
        "/v1/orgs/{org_id}/impact",
        authenticated(other_org=404, owner=200, admin=200),
    ),
    Case(
        "impact certificate",
        "GET",
        "/v1/orgs/{org_id}/certificates/{milestone_id}",
        authenticated(other_org=404, owner=200, admin=200),
        needs="certified",
    ),
    Case(
        "create challenge",
        "POST",
        "/v1/challenges",
        authenticated(other_org=201, owner_without_role=403, owner=201, admin=403),
        body={"title": "M", "currency": "USD", "sdg_targets": ["6.1"]},
        role="steward",
    ),
    Case(
        "open challenge",
        "POST",
        "/v1/challenges/{challenge_id}/open",
        authenticated(other_org=403, owner_without_role=403, owner=200, admin=200),
        role="steward",
        aliases={"challenge_id": "draft_challenge_id"},
    ),
    Case(
        "close challenge",
        "POST",
        "/v1/challenges/{challenge_id}/close",
        authenticated(other_org=403, owner_without_role=403, owner=200, admin=200),
        role="steward",
    ),
    Case(
        "complete challenge",
        "POST",
        "/v1/challenges/{challenge_id}/complete",
        authenticated(other_org=403, owner_without_role=403, owner=200, admin=200),
        role="steward",
    ),
    Case(
        "cancel challenge",
        "POST",
        "/v1/challenges/{challenge_id}/cancel",
        authenticated(other_org=403, owner_without_role=403, owner=200, admin=200),
        role="steward",
    ),
    Case("list challenges", "GET", "/v1/challenges", PUBLIC),
    Case("read challenge", "GET", "/v1/challenges/{challenge_id}", PUBLIC),
    Case(
        "add milestone",
        "POST",
        "/v1/challenges/{challenge_id}/milestones",
        authenticated(other_org=403, owner_without_role=403, owner=201, admin=403),
        body={
            "title": "W",
            "metric": "wells",
            "unit": "wells",
            "target": 5,
            "payout_rule": "pro_rata",
            "budget_cap": 1000,
            "quorum": 1,
            "due_at": "2035-01-01T00:00:00Z",
        },
        role="steward",
    ),
    Case(
        "offer assurance bonus",
        "POST",
        "/v1/challenges/{challenge_id}/assurance-bonus",
        authenticated(other_org=201, owner_without_role=403, owner=201, admin=403),
        body={"amount": 100, "bonus_bps": 250},
        role="funder",
    ),
    Case("list assurance bonuses", "GET", "/v1/challenges/{challenge_id}/assurance-bonus", PUBLIC),
    Case("list milestones", "GET", "/v1/challenges/{challenge_id}/milestones", PUBLIC),
    Case("read milestone", "GET", "/v1/milestones/{milestone_id}", PUBLIC),
    Case(
        "pledge",
        "POST",
        "/v1/challenges/{challenge_id}/pledges",
        authenticated(other_org=201, owner_without_role=403, owner=201, admin=403),
        body={"amount": 100, "kind": "direct"},
        role="funder",
    ),
    Case(
        "pledge batch",
        "POST",
        "/v1/pledges/batch",
        authenticated(other_org=201, owner_without_role=403, owner=201, admin=403),
        body={"items": [{"challenge_id": "{challenge_id}", "amount": 100, "kind": "direct"}]},
        role="funder",
    ),
    Case(
        "read pledge",
        "GET",
        "/v1/pledges/{pledge_id}",
        authenticated(other_org=404, owner=200, admin=200),
        role="funder",
    ),
    Case(
        "cancel pledge",
        "POST",
        "/v1/pledges/{pledge_id}/cancel",
        authenticated(other_org=404, owner=200, admin=403),
        role="funder",
    ),
    Case(
        "list org pledges",
        "GET",
        "/v1/orgs/{org_id}/pledges",
        authenticated(other_org=404, owner=200, admin=200),
    ),
    Case(
        "form swarm",
        "POST",
        "/v1/swarms",
        authenticated(other_org=422, owner_without_role=403, owner=201, admin=403),
        body={"name": "S", "members": [{"org_id": "{org_id}", "share_bps": 10000}]},
        role="actor",
    ),
    Case(
        "accept swarm",
        "POST",
        "/v1/swarms/{swarm_id}/accept",
        authenticated(other_org=403, owner=200, admin=403),
        role="actor",
        needs="bid",
    ),
    Case("read swarm", "GET", "/v1/swarms/{swarm_id}", PUBLIC, role="actor", needs="bid"),
    Case(
        "bid",
        "POST",
        "/v1/milestones/{milestone_id}/bids",
        authenticated(other_org=403, owner_without_role=403, owner=201, admin=403),
        body={"swarm_id": "{swarm_id}", "amount": 5, "plan": "p"},
        role="actor",
        needs="bid",
    ),
    Case(
        "list bids",
        "GET",
        "/v1/milestones/{milestone_id}/bids",
        authenticated(other_org=200, owner=200, admin=200),
        role="actor",
        needs="bid",
    ),
    Case(
        "award bid",
        "POST",
        "/v1/bids/{bid_id}/award",
        authenticated(other_org=403, owner_without_role=403, owner=200, admin=403),
        role="steward",
        needs="bid",
    ),
    Case(
        "withdraw bid",
        "POST",
        "/v1/bids/{bid_id}/withdraw",
        authenticated(other_org=403, owner=200, admin=403),
        role="actor",
        needs="bid",
    ),
    Case(
        "assign verifiers",
        "PUT",
        "/v1/milestones/{milestone_id}/verifiers",
        authenticated(other_org=403, owner_without_role=403, owner=200, admin=403),
        body={"org_ids": ["{verifier_id}"]},
        role="steward",
        needs="bid",
    ),
    Case(
        "re-tender milestone",
        "POST",
        "/v1/milestones/{milestone_id}/retender",
        authenticated(other_org=403, owner_without_role=403, owner=201, admin=403),
        body={"due_at": "2035-06-01T00:00:00Z"},
        role="steward",
        needs="not_achieved",
    ),
    Case(
        "claim",
        "POST",
        "/v1/milestones/{milestone_id}/claims",
        authenticated(other_org=403, owner_without_role=403, owner=201, admin=403),
        body={"reported_value": 1, "evidence": [{"uri": "https://e.example/r"}]},
        role="actor",
        needs="award",
    ),
    Case(
        "read claim",
        "GET",
        "/v1/claims/{claim_id}",
        authenticated(other_org=404, owner=200, admin=200),
        role="actor",
        needs="claim",
    ),
    Case(
        "attest",
        "POST",
        "/v1/claims/{claim_id}/attestations",
        authenticated(other_org=404, owner_without_role=403, owner=201, admin=403),
        body={"verdict": "approve", "value": 1},
        role="verifier",
        needs="claim",
    ),
    Case(
        "open dispute",
        "POST",
        "/v1/claims/{claim_id}/disputes",
        authenticated(other_org=404, owner_without_role=404, owner=201, admin=403),
        body={"reason": "The survey counted dry wells."},
        role="funder",
        aliases={"claim_id": "verified_claim_id"},
        needs="verified",
    ),
    Case(
        "appoint dispute panel",
        "PUT",
        "/v1/disputes/{dispute_id}/panel",
        authenticated(other_org=404, owner_without_role=404, owner=200, admin=403),
        body={"org_ids": ["{panel_1}", "{panel_2}", "{panel_3}"]},
        role="steward",
        needs="dispute",
    ),
    Case(
        "attest dispute",
        "POST",
        "/v1/disputes/{dispute_id}/attestations",
        authenticated(other_org=404, owner_without_role=403, owner=201, admin=403),
        body={"verdict": "approve", "value": 1},
        role="verifier",
        needs="dispute",
    ),
    Case(
        "read dispute",
        "GET",
        "/v1/disputes/{dispute_id}",
        authenticated(other_org=404, owner_without_role=404, owner=200, admin=200),
        role="funder",
        needs="dispute",
    ),
    Case(
        "verify ledger",
        "GET",
        "/v1/ledger/verify",
        authenticated(other_org=403, owner=403, admin=200),
    ),
    Case("public flows", "GET", "/v1/public/flows", PUBLIC, query="?challenge_id={challenge_id}"),
    Case("public stats", "GET", "/v1/public/stats", PUBLIC),
    Case("events", "GET", "/v1/events", authenticated(other_org=200, owner=200, admin=200)),
    Case(
        "create webhook",
        "POST",
        "/v1/webhooks",
        authenticated(other_org=201, owner=201, admin=403),
        body={"url": "http://127.0.0.1:9/hook", "event_types": ["pledge.created"]},
    ),
    Case(
        "list webhooks", "GET", "/v1/webhooks", authenticated(other_org=200, owner=200, admin=403)
    ),
    Case(
        "delete webhook",
        "DELETE",
        "/v1/webhooks/{webhook_id}",
        authenticated(other_org=404, owner=204, admin=403),
        needs="webhook",
    ),
    Case(
        "enable webhook",
        "POST",
        "/v1/webhooks/{webhook_id}/enable",
        authenticated(other_org=404, owner=200, admin=403),
        needs="webhook",
    ),
    Case(
        "webhook deliveries",
        "GET",
        "/v1/webhooks/{webhook_id}/deliveries",
        authenticated(other_org=404, owner=200, admin=403),
        needs="webhook",
    ),
    Case(
        "create round",
        "POST",
        "/v1/rounds",
        authenticated(other_org=201, owner_without_role=403, owner=201, admin=403),
        body={
            "name": "R",
            "currency": "USD",
            "matching_pool": 100,
            "challenge_ids": ["{challenge_id}"],
            "starts_at": "2026-01-01T00:00:00Z",
            "ends_at": "2035-01-01T00:00:00Z",
        },
        role="funder",
    ),
    Case("read round", "GET", "/v1/rounds/{round_id}", PUBLIC, role="funder", needs="round"),
    Case(
        "close round",
        "POST",
        "/v1/rounds/{round_id}/close",
        authenticated(other_org=403, owner_without_role=403, owner=200, admin=403),
        role="funder",
        needs="round",
    ),
    Case("dashboard", "GET", "/", PUBLIC),
    Case("dashboard challenge", "GET", "/challenges/{challenge_id}", PUBLIC),
    Case("benchmarks", "GET", "/v1/public/benchmarks", PUBLIC),
    # The owner (a funder) pledged in its own name, so its public page exists.
    Case("dashboard funder", "GET", "/funders/{org_id}", PUBLIC),
    Case("log key", "GET", "/v1/public/ledger/key", PUBLIC),
    Case("tree head", "GET", "/v1/public/ledger/tree-head", PUBLIC, needs="sealed"),
    Case("tree heads", "GET", "/v1/public/ledger/tree-heads", PUBLIC, needs="sealed"),
    Case(
        "inclusion proof",
        "GET",
        "/v1/public/ledger/entries/{entry_id}/proof",
        PUBLIC,
        aliases={"entry_id": "pledge_id"},
        needs="sealed",
    ),
    Case(
        "consistency proof",
        "GET",
        "/v1/public/ledger/consistency",
        PUBLIC,
        query="?first=1&second=1",
        needs="sealed",
    ),
]


@dataclass
class World:
    owner: OrgHandle
    owner_without_role: OrgHandle | None
    other: OrgHandle
    revoked_secret: str
    spare_key_id: str
    ids: dict[str, str]


async def build_world(client: httpx.AsyncClient, case: Case) -> World:
    owner = await make_org(client, *([case.role] if case.role else ["funder"]))
    lacking = [r for r in ALL_ROLES if r != case.role]
    owner_without_role = await make_org(client, *lacking) if case.role else None
    other = await make_org(client, *ALL_ROLES)
    revoked = await client.post(f"/v1/orgs/{owner.id}/api-keys", json={}, headers=ADMIN)
    await client.delete(f"/v1/api-keys/{revoked.json()['id']}", headers=ADMIN)
    spare = await client.post(f"/v1/orgs/{owner.id}/api-keys", json={}, headers=ADMIN)
    funded = await client.post(
        f"/v1/orgs/{owner.id}/deposits",
        json={"amount": 10_000, "currency": "USD", "external_ref": f"seed-{owner.id}"},
        headers=ADMIN,
    )
    assert funded.status_code == 201, funded.text
    ids = await _market(client, owner if case.role == "steward" else None, owner, other)
    if case.needs in ("bid", "award", "claim", "not_achieved", "certified"):
        ids.update(await _delivery(client, case, owner, ids))
    if case.needs == "round":
        made = await client.post(
            "/v1/rounds",
            json={
                "name": "R",
                "currency": "USD",
                "matching_pool": 100,
                "challenge_ids": [ids["challenge_id"]],
                "starts_at": "2026-01-01T00:00:00Z",
                "ends_at": "2035-01-01T00:00:00Z",
            },
            headers=owner.headers,
        )
        assert made.status_code == 201, made.text
        ids["round_id"] = made.json()["id"]
    if case.needs in ("verified", "dispute"):
        ids.update(await _dispute_world(client, case, owner))
    if case.needs == "webhook":
        hook = await client.post(
            "/v1/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"]},
            headers=owner.headers,
        )
        assert hook.status_code == 201, hook.text
        ids["webhook_id"] = hook.json()["id"]
    return World(
        owner, owner_without_role, other, revoked.json()["secret"], spare.json()["id"], ids
    )


async def _market(
    client: httpx.AsyncClient, steward: OrgHandle | None, owner: OrgHandle, other: OrgHandle
) -> dict[str, str]:
    """A draft and an open challenge (the owner's, if it is a steward), a milestone, and a
    held pledge of the owner's when it can fund one."""
    steward = steward or await make_org(client, "steward")
    ids: dict[str, str] = {"steward_secret": steward.secret}
    for name in ("draft_challenge_id", "challenge_id"):
        made = await client.post(
            "/v1/challenges",
            json={"title": name, "currency": "USD", "sdg_targets": ["6.1"]},
            headers=steward.headers,
        )
        ids[name] = made.json()["id"]
    await client.post(f"/v1/challenges/{ids['challenge_id']}/open", headers=steward.headers)
    milestone = await client.post(
        f"/v1/challenges/{ids['challenge_id']}/milestones",
        json={
            "title": "W",
            "metric": "m",
            "unit": "u",
            "target": 1,
            "payout_rule": "binary",
            "budget_cap": 10,
            "quorum": 1,
            "due_at": "2035-01-01T00:00:00Z",
        },
        headers=steward.headers,
    )
    ids["milestone_id"] = milestone.json()["id"]
    await client.post(
        f"/v1/orgs/{other.id}/deposits",
        json={"amount": 10_000, "currency": "USD", "external_ref": f"seed-{other.id}"},
        headers=ADMIN,
    )
    held = await client.post(
        f"/v1/challenges/{ids['challenge_id']}/pledges",
        json={
            "amount": 10,
            "kind": "threshold",
            "threshold_amount": 10**9,
            "deadline": "2035-01-01T00:00:00Z",
        },
        headers=owner.headers,
    )
    if held.status_code == 201:
        ids["pledge_id"] = held.json()["id"]
    return ids


async def _delivery(
    client: httpx.AsyncClient, case: Case, owner: OrgHandle, ids: dict[str, str]
) -> dict[str, str]:
    """A swarm and its bid on the world's milestone; then (needs) the award and a claim."""
    lead = owner if case.role == "actor" else await make_org(client, "actor")
    verifier = owner if case.role == "verifier" else await make_org(client, "verifier")
    swarm = await client.post(
        "/v1/swarms",
        json={"name": "W", "members": [{"org_id": lead.id, "share_bps": 10_000}]},
        headers=lead.headers,
    )
    bid = await client.post(
        f"/v1/milestones/{ids['milestone_id']}/bids",
        json={"swarm_id": swarm.json()["id"], "amount": 10, "plan": "p"},
        headers=lead.headers,
    )
    found = {"swarm_id": swarm.json()["id"], "bid_id": bid.json()["id"], "verifier_id": verifier.id}
    found["verifier_secret"] = verifier.secret
    # "certified": the owner's own money pays the milestone, so it holds a certificate.
    funder = owner if case.needs == "certified" else await make_org(client, "funder")
    await client.post(
        f"/v1/orgs/{funder.id}/deposits",
        json={"amount": 100, "currency": "USD", "external_ref": f"d-{funder.id}"},
        headers=ADMIN,
    )
    await client.post(
        f"/v1/challenges/{ids['challenge_id']}/pledges",
        json={"amount": 100, "kind": "direct"},
        headers=funder.headers,
    )
    if case.needs in ("award", "claim", "not_achieved", "certified"):
        headers = {"Authorization": f"Bearer {ids['steward_secret']}"}
        awarded = await client.post(f"/v1/bids/{found['bid_id']}/award", headers=headers)
        assert awarded.status_code == 200, awarded.text
        assigned = await client.put(
            f"/v1/milestones/{ids['milestone_id']}/verifiers",
            json={"org_ids": [verifier.id]},
            headers=headers,
        )
        assert assigned.status_code == 200, assigned.text
    if case.needs in ("claim", "not_achieved", "certified"):
        claim = await client.post(
            f"/v1/milestones/{ids['milestone_id']}/claims",
            json={"reported_value": 1, "evidence": [{"uri": "https://e.example/r"}]},
            headers=lead.headers,
        )
        assert claim.status_code == 201, claim.text
        found["claim_id"] = claim.json()["id"]
    if case.needs == "not_achieved":  # verified at 0 of a binary target: nothing paid
        verdict = await client.post(
            f"/v1/claims/{found['claim_id']}/attestations",
            json={"verdict": "approve", "value": 0},
            headers=verifier.headers,
        )
        assert verdict.status_code == 201, verdict.text
    if case.needs == "certified":  # verified at 1 of a binary target of 1: paid in full
        verdict = await client.post(
            f"/v1/claims/{found['claim_id']}/attestations",
            json={"verdict": "approve", "value": 1},
            headers=verifier.headers,
        )
        assert verdict.status_code == 201, verdict.text
    return found


async def _dispute_world(client: httpx.AsyncClient, case: Case, owner: OrgHandle) -> dict[str, str]:
    """A claim verified at 1 of 1 on a challenge with a dispute window, its milestone
    funded by the owner when it is a funder and stewarded by it when it is a steward; with
    `dispute`, the funder disputed it and the steward appointed a panel (the owner sits on
    it when it is a verifier)."""
    steward = owner if case.role == "steward" else await make_org(client, "steward")
    backer = owner if case.role == "funder" else await make_org(client, "funder")
    await client.post(
        f"/v1/orgs/{backer.id}/deposits",
        json={"amount": 100, "currency": "USD", "external_ref": f"dw-{backer.id}"},
        headers=ADMIN,
    )
    made = await client.post(
        "/v1/challenges",
        json={"title": "D", "currency": "USD", "sdg_targets": ["6.1"]}
        | {"dispute_window_seconds": 3_600},
        headers=steward.headers,
    )
    challenge_id = made.json()["id"]
    await client.post(f"/v1/challenges/{challenge_id}/open", headers=steward.headers)
    funded = await client.post(
        f"/v1/challenges/{challenge_id}/pledges",
        json={"amount": 100, "kind": "direct"},
        headers=backer.headers,
    )
    assert funded.status_code == 201, funded.text
    milestone = await client.post(
        f"/v1/challenges/{challenge_id}/milestones",
        json={
            "title": "W",
            "metric": "m",
            "unit": "u",
            "target": 1,
            "payout_rule": "binary",
            "budget_cap": 10,
            "quorum": 1,
            "due_at": "2035-01-01T00:00:00Z",
        },
        headers=steward.headers,
    )
    market = {"challenge_id": challenge_id, "milestone_id": milestone.json()["id"]}
    market["steward_secret"] = steward.secret
    found = await _delivery(client, Case("", "", "", {}, needs="claim"), owner, market)
    verdict = await client.post(
        f"/v1/claims/{found['claim_id']}/attestations",
        json={"verdict": "approve", "value": 1},
        headers=bearer(found["verifier_secret"]),
    )
    assert verdict.status_code == 201, verdict.text
    panel = [await make_org(client, "verifier") for _ in range(3)]
    ids = {"verified_claim_id": found["claim_id"]}
    ids.update({f"panel_{n}": p.id for n, p in enumerate(panel, start=1)})
    if case.needs == "dispute":
        opened = await client.post(
            f"/v1/claims/{found['claim_id']}/disputes",
            json={"reason": "r"},
            headers=backer.headers,
        )
        assert opened.status_code == 201, opened.text
        ids["dispute_id"] = opened.json()["id"]
        members = [owner if case.role == "verifier" else panel[0], *panel[1:]]
        appointed = await client.put(
            f"/v1/disputes/{ids['dispute_id']}/panel",
            json={"org_ids": [m.id for m in members]},
            headers=steward.headers,
        )
        assert appointed.status_code == 200, appointed.text
    return ids


def headers_for(principal: str, world: World) -> dict[str, str]:
    if principal == "anonymous":
        return {}
    if principal == "invalid_key":
        return bearer("trb_" + "A" * 43)
    if principal == "revoked_key":
        return bearer(world.revoked_secret)
    if principal == "other_org":
        return world.other.headers
    if principal == "owner_without_role":
        assert world.owner_without_role is not None
        return world.owner_without_role.headers
    if principal == "owner":
        return world.owner.headers
    return ADMIN


def _format(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**replacements)
    if isinstance(value, dict):
        return {k: _format(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_format(v, replacements) for v in value]
    return value


MATRIX = [
    pytest.param(case, principal, id=f"{case.name}-{principal}")
    for case in CASES
    for principal in PRINCIPALS
    if principal in case.expect
]


@pytest.mark.parametrize(("case", "principal"), MATRIX)
async def test_endpoint_answers_each_caller_as_the_contract_says(
    client: httpx.AsyncClient, database: Database, case: Case, principal: str
) -> None:
    world = await build_world(client, case)
    if case.needs in ("sealed", "certified"):
        await seal_everything(database)
    replacements = {
        "org_id": world.owner.id,
        "key_id": world.spare_key_id,
        "principal": principal,
        **world.ids,
    }
    replacements.update({param: world.ids[source] for param, source in case.aliases.items()})
    path = _format(case.path + case.query, replacements)
    response = await client.request(
        case.method,
        path,
        json=_format(case.body, replacements) if case.body is not None else None,
        headers=headers_for(principal, world),
    )
    expected = case.expect[principal]
    assert response.status_code == expected, f"{case.method} {path} as {principal}: {response.text}"
    if expected >= 400:
        assert response.headers["content-type"] == "application/problem+json"


def test_every_route_of_the_app_is_in_the_matrix(tmp_path: object) -> None:
    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/m.db"))
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert len(routes) >= 10
    covered = {(case.method, case.path) for case in CASES}
    assert routes <= covered, f"endpoints missing from the matrix: {routes - covered}"
