"""The public funding-flow graph: funders -> challenges -> milestones -> actors.

Read from the rollup with one indexed query per view. Only public facts appear: names of
organisations that pledged openly or were paid, titles, and amounts. Anonymous pledges are
one node, `anonymous`, whatever funders made them. A view shows the `max_funders` largest
funders one by one and the rest as one node, so a challenge with 10,000 funders still
renders; every amount stays exact either way.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.challenges.models import Challenge, Milestone
from app.domain.errors import NotFound, Unprocessable
from app.domain.flows import keys
from app.domain.flows.models import FlowTotal
from app.domain.identity.models import Org

ANONYMOUS_ID = "anonymous"
OTHERS_ID = "other_funders"
DEFAULT_MAX_FUNDERS = 100
MAX_FUNDERS = 10_000


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    label: str
    ref: str | None


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    amount: int


@dataclass
class FlowGraph:
    currency: str
    nodes: list[Node] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)


def node_id(key: str) -> str:
    """The public id of a node: `kind:uuid`, or `anonymous` for the anonymous funders."""
    return ANONYMOUS_ID if key == keys.ANONYMOUS else key


async def _rows(
    session: AsyncSession, *, challenge_id: uuid.UUID | None, currency: str
) -> list[tuple[uuid.UUID, str, str, int]]:
    query = select(FlowTotal.challenge_id, FlowTotal.source, FlowTotal.target, FlowTotal.amount)
    if challenge_id is not None:
        query = query.where(FlowTotal.challenge_id == challenge_id)
    else:
        query = query.where(FlowTotal.currency == currency)
    rows = await session.execute(query.where(FlowTotal.amount > 0))
    return [
        (cid, source, target, int(amount))
        for cid, source, target, amount in rows
        if not target.startswith("out:")
    ]


def _merge_small_funders(
    rows: list[tuple[uuid.UUID, str, str, int]], max_funders: int
) -> tuple[list[tuple[str, str, int]], int]:
    """Links as (source key, target key, amount); funders beyond the largest `max_funders`
    become one source. Returns the links and how many funders were merged."""
    by_funder: dict[str, int] = defaultdict(int)
    for _, source, _, amount in rows:
        if source.startswith("funder:"):
            by_funder[source] += amount
    ranked = sorted(by_funder, key=lambda key: (-by_funder[key], key))
    kept = set(ranked[:max_funders])
    merged: dict[tuple[str, str], int] = defaultdict(int)
    for _, source, target, amount in rows:
        if source.startswith("funder:") and source not in kept:
            source = OTHERS_ID
        merged[(source, target)] += amount
    return [(s, t, a) for (s, t), a in merged.items()], len(ranked) - len(kept)


async def _labels(session: AsyncSession, node_keys: set[str]) -> dict[str, str]:
    ids: dict[str, set[uuid.UUID]] = defaultdict(set)
    for key in node_keys:
        kind, ident = keys.split(key)
        if ident not in (ANONYMOUS_ID, "") and key != OTHERS_ID:
            ids[kind].add(uuid.UUID(ident))
    labels: dict[str, str] = {}
    org_ids = ids["funder"] | ids["actor"]
    if org_ids:
        for org_id, name, public_name in await session.execute(
            select(Org.id, Org.name, Org.public_name).where(Org.id.in_(org_ids))
        ):
            labels[str(org_id)] = public_name or name
    if ids["challenge"]:
        for cid, title in await session.execute(
            select(Challenge.id, Challenge.title).where(Challenge.id.in_(ids["challenge"]))
        ):
            labels[str(cid)] = title
    if ids["milestone"]:
        for mid, title in await session.execute(
            select(Milestone.id, Milestone.title).where(Milestone.id.in_(ids["milestone"]))
        ):
            labels[str(mid)] = title
    return labels


def _node(key: str, labels: dict[str, str], others: int) -> Node:
    if key == keys.ANONYMOUS:
        return Node(ANONYMOUS_ID, "funder", "Anonymous funders", None)
    if key == OTHERS_ID:
        return Node(OTHERS_ID, "funder", f"{others} other funders", None)
    kind, ident = keys.split(key)
    return Node(key, kind, labels.get(ident, ident), ident)


_ORDER = {"funder": 0, "challenge": 1, "milestone": 2, "actor": 3}


async def flows(
    session: AsyncSession,
    *,
    challenge_id: uuid.UUID | None,
    currency: str | None,
    max_funders: int = DEFAULT_MAX_FUNDERS,
) -> FlowGraph:
    """One challenge's flows, or the whole platform's in one currency."""
    if challenge_id is not None:
        challenge = await session.get(Challenge, challenge_id)
        if challenge is None:
            raise NotFound("challenge", challenge_id)
        if currency is not None and currency != challenge.currency:
            raise Unprocessable(
                f"The challenge is in {challenge.currency}, not {currency}.",
                code="currency_mismatch",
            )
        currency = challenge.currency
    if currency is None:
        currency = await _only_currency(session)
    rows = await _rows(session, challenge_id=challenge_id, currency=currency)
    links, others = _merge_small_funders(rows, max_funders)
    node_keys = {s for s, _, _ in links} | {t for _, t, _ in links}
    labels = await _labels(session, node_keys)
    nodes = sorted(
        (_node(key, labels, others) for key in node_keys), key=lambda n: (_ORDER[n.kind], n.id)
    )
    return FlowGraph(
        currency=currency,
        nodes=nodes,
        links=sorted(
            (Link(node_id(s), node_id(t), a) for s, t, a in links),
            key=lambda link: (link.source, link.target),
        ),
    )


async def _only_currency(session: AsyncSession) -> str:
    currencies = sorted(
        (await session.scalars(select(FlowTotal.currency).distinct().limit(2))).all()
    )
    if len(currencies) > 1:
        raise Unprocessable(
            "Money moves in several currencies here; choose one with ?currency=.",
            code="currency_required",
        )
    return currencies[0] if currencies else "USD"
