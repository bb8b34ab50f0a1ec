"""The public dashboard: server-rendered HTML that reads well on a phone and on a wall,
and keeps itself current by polling the public JSON endpoints (ETag: 304 when nothing
moved). Scripts and the charting library are served by the app itself, never from a CDN,
under a strict Content-Security-Policy. Everything the page says is in its HTML: without
JavaScript a challenge's flows are a table (who funded it, which milestones the money went
to, whom each milestone paid), which the script replaces with the Sankey diagram."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import DatabaseDep
from app.api.flows_cache import FlowsCache
from app.api.formatting import amount, counted, day, moment, money, percent
from app.domain import public_log
from app.domain.assurance import service as assurance
from app.domain.benchmarks import service as benchmarks
from app.domain.challenges import service as challenges
from app.domain.delivery import milestones, payouts
from app.domain.flows import graph
from app.domain.flows.stats import stats as platform_stats
from app.domain.money.currency import minor_units
from app.domain.reports import public_view
from app.domain.rounds import service as rounds
from app.ledger import NotSealed

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
TEMPLATES.env.filters["money"] = money
TEMPLATES.env.filters["amount"] = amount
TEMPLATES.env.filters["day"] = day
TEMPLATES.env.filters["moment"] = moment
TEMPLATES.env.globals["percent"] = percent
TEMPLATES.env.globals["counted"] = counted
LIST_LIMIT = 100
BENCHMARK_ROWS = 20  # the home page shows the first (by SDG target and unit); the API has all
FLOW_FUNDERS = 40  # funders shown one by one; dashboard.js asks /v1/public/flows for the same
FLOW_STAGES = (  # (source kind, target kind, heading)
    ("funder", "challenge", "Pledged by funders"),
    ("challenge", "milestone", "Allocated to milestones"),
    ("milestone", "actor", "Paid for outcomes"),
    ("milestone", "verifier", "Paid to verifiers"),
    ("challenge", "host", "Host fees"),
)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'none'"
)

router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, context: dict[str, Any]) -> Response:
    # Inert JSON for the page's script; "<" escaped so no value can close the element.
    boot = json.dumps(context.pop("boot"), separators=(",", ":")).replace("<", "\\u003c")
    context["boot"] = boot
    response = TEMPLATES.TemplateResponse(request, template, context)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def _digest(session: Any, request: Request) -> dict[str, Any] | None:
    """The footer's latest tree head; None before the first seal."""
    try:
        head = await public_log.tree_head(session, request.app.state.signer_source.get(), None)
    except public_log.SealingOff:
        return {"sealing_off": True}
    except NotSealed:
        return None
    return {"tree_size": head.tree_size, "root_hash": head.root_hash, "timestamp": head.timestamp}


@router.get("/", response_class=Response)
async def index(request: Request, database: DatabaseDep) -> Response:
    async with database.read() as session:
        shown = await challenges.list_challenges(
            session,
            status=None,
            sdg=None,
            region=None,
            after=None,
            limit=LIST_LIMIT,
            past_draft=True,
        )
        totals = await challenges.totals_of(session, [c.id for c in shown])
        stats = await platform_stats(session)
        costs = await benchmarks.benchmarks(session)
        digest = await _digest(session, request)
    rows = [{"challenge": c, "totals": totals[c.id]} for c in shown]
    return _page(
        request,
        "index.html",
        {
            "rows": rows,
            "stats": stats,
            "benchmarks": costs[:BENCHMARK_ROWS],
            "digest": digest,
            "boot": {"page": "index", "exponents": _exponents(c.currency for c in shown)},
        },
    )


@router.get("/challenges/{challenge_id}", response_class=Response)
async def challenge_page(
    request: Request, challenge_id: uuid.UUID, database: DatabaseDep
) -> Response:
    async with database.read() as session:
        challenge = await challenges.get_challenge(session, challenge_id)
        totals = await challenges.totals(session, challenge)
        found = await milestones.list_milestones(session, challenge.id)
        results = await payouts.results_of(session, [m.id for m in found])
        cache: FlowsCache = request.app.state.flows_cache
        view = await cache.view(session, challenge.id, challenge.currency, FLOW_FUNDERS)
        flows = view.graph
        terms = await public_view.pledge_terms(session, challenge.id)
        delivered = await public_view.deliveries(session, found)
        digest = await _digest(session, request)
        open_rounds = await rounds.open_rounds_of(session, challenge.id)
        bonuses = await assurance.list_bonuses(session, challenge.id)
    shown = [
        {
            "milestone": m,
            "payout": results[m.id][0],
            "outcome": results[m.id][1],
            "delivery": delivered[m.id],
        }
        for m in found
    ]
    return _page(
        request,
        "challenge.html",
        {
            "challenge": challenge,
            "rounds": open_rounds,
            "bonuses": bonuses,
            "totals": totals,
            "milestones": shown,
            "flow_stages": _flow_stages(flows),
            "funders": _funders(flows),
            "terms": terms,
            "committed": totals.available + totals.allocated + totals.paid,
            "digest": digest,
            "boot": {
                "page": "challenge",
                "challenge_id": str(challenge.id),
                "currency": challenge.currency,
                "exponents": _exponents([challenge.currency]),
            },
        },
    )


@router.get("/funders/{org_id}", response_class=Response)
async def funder_page(request: Request, org_id: uuid.UUID, database: DatabaseDep) -> Response:
    """A named funder's public record: what it funded in its own name, paid, and achieved."""
    async with database.read() as session:
        record = await public_view.funder_record(session, org_id)
        results = await payouts.results_of(
            session, [m.id for row in record.challenges for m in row.milestones]
        )
        digest = await _digest(session, request)
    currencies = {row.currency for row in record.challenges}
    return _page(
        request,
        "funder.html",
        {
            "record": record,
            "results": results,
            "digest": digest,
            "boot": {"page": "funder", "exponents": _exponents(currencies)},
        },
    )


def _funders(flows: graph.FlowGraph) -> list[dict[str, Any]]:
    """Who funded the challenge, largest first: named funders one by one (with their page),
    anonymous ones as a single row, as the flows already group them."""
    nodes = {node.id: node for node in flows.nodes}
    rows = [
        {"label": nodes[link.source].label, "org_id": nodes[link.source].ref, "amount": link.amount}
        for link in flows.links
        if nodes[link.source].kind == "funder"
    ]
    return sorted(rows, key=lambda row: (-row["amount"], row["label"]))


def _flow_stages(flows: graph.FlowGraph) -> list[dict[str, Any]]:
    """The flows as table sections, one per step of the money, largest amount first."""
    nodes = {node.id: node for node in flows.nodes}
    stages = []
    for source, target, heading in FLOW_STAGES:
        rows = sorted(
            (
                (nodes[link.source].label, nodes[link.target].label, link.amount)
                for link in flows.links
                if (nodes[link.source].kind, nodes[link.target].kind) == (source, target)
            ),
            key=lambda row: (-row[2], row[0], row[1]),
        )
        if rows:
            stages.append({"heading": heading, "rows": rows})
    return stages


def _exponents(currencies: Any) -> dict[str, int]:
    return {code: minor_units(code) or 0 for code in set(currencies)}
