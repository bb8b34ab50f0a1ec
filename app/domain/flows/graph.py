"""The public funding-flow graph: funders -> challenges -> milestones -> actors.

Read from the rollup with a few aggregate queries per view, never from the journal. Only
public facts appear: names of organisations that pledged openly or were paid, titles, and
amounts. Anonymous pledges are
one node, `anonymous`, whatever funders made them. A view shows the `max_funders` largest
funders one by one and the rest as one node, so a challenge with 10,000 funders still
renders; every amount stays exact either way.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.errors import Unprocessable
from app.domain.flows import keys
from app.domain.flows.models import FlowTotal
from app.domain.identity.service import org_names
from app.domain.store.challenges import ChallengeRepository
from app.domain.store.milestones import MilestoneRepository

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


def _scope(challenge_id: uuid.UUID | None, currency: str) -> ColumnElement[bool]:
    if challenge_id is not None:
        return and_(FlowTotal.challenge_id == challenge_id, FlowTotal.amount > 0)
    return and_(FlowTotal.currency == currency, FlowTotal.amount > 0)


IS_FUNDER = FlowTotal.source.startswith("funder:")


async def _links(
    session: AsyncSession, scope: ColumnElement[bool], max_funders: int
) -> tuple[list[tuple[str, str, int]], int]:
    """Links as (source key, target key, amount), aggregated in the database: the largest
    `max_funders` funders one by one, the rest as one source per target. Python only ever
    sees the rows it returns, however many funders there are. Also returns how many
    funders were folded."""
    funder_total = func.sum(FlowTotal.amount)
    kept = list(
        (
            await session.scalars(
                select(FlowTotal.source)
                .where(scope, IS_FUNDER)
                .group_by(FlowTotal.source)
                .order_by(funder_total.desc(), FlowTotal.source)
                .limit(max_funders)
            )
        ).all()
    )
    everyone = await session.scalar(
        select(func.count(FlowTotal.source.distinct())).where(scope, IS_FUNDER)
    )
    named = select(FlowTotal.source, FlowTotal.target, FlowTotal.amount).where(
        scope,
        or_(FlowTotal.source.in_(kept), and_(~IS_FUNDER, ~FlowTotal.target.startswith("out:"))),
    )
    links: dict[tuple[str, str], int] = defaultdict(int)
    for source, target, amount in await session.execute(named):
        links[(source, target)] += int(amount)
    folded = int(everyone or 0) - len(kept)
    if folded:
        rest = (
            select(FlowTotal.target, func.sum(FlowTotal.amount))
            .where(scope, IS_FUNDER, FlowTotal.source.not_in(kept))
            .group_by(FlowTotal.target)
        )
        for target, amount in await session.execute(rest):
            links[(OTHERS_ID, target)] += int(amount)
    return [(s, t, a) for (s, t), a in links.items()], folded


async def _labels(session: AsyncSession, node_keys: set[str]) -> dict[str, str]:
    ids: dict[str, set[uuid.UUID]] = defaultdict(set)
    for key in node_keys:
        kind, ident = keys.split(key)
        if ident not in (ANONYMOUS_ID, "") and key != OTHERS_ID:
            ids[kind].add(uuid.UUID(ident))
    labels: dict[str, str] = {}
    named = ids["funder"] | ids["actor"] | ids["verifier"] | ids["host"]
    names = await org_names(session, sorted(named))
    titles = await ChallengeRepository(session).titles(sorted(ids["challenge"]))
    milestones = await MilestoneRepository(session).titles(sorted(ids["milestone"]))
    for found in (names, titles, milestones):
        labels.update({str(ident): label for ident, label in found.items()})
    return labels


def _node(key: str, labels: dict[str, str], others: int) -> Node:
    if key == keys.ANONYMOUS:
        return Node(ANONYMOUS_ID, "funder", "Anonymous funders", None)
    if key == OTHERS_ID:
        return Node(OTHERS_ID, "funder", f"{others} other funders", None)
    kind, ident = keys.split(key)
    return Node(key, kind, labels.get(ident, ident), ident)


_ORDER = {"funder": 0, "challenge": 1, "milestone": 2, "actor": 3, "verifier": 4, "host": 5}


async def resolve_currency(
    session: AsyncSession, challenge_id: uuid.UUID | None, currency: str | None
) -> str:
    """The currency of a view: the challenge's (404 if there is none; 422 if another was
    asked for), the one asked for, or the platform's only one."""
    if challenge_id is not None:
        challenge = await ChallengeRepository(session).get(challenge_id)
        if currency is not None and currency != challenge.currency:
            raise Unprocessable(
                f"The challenge is in {challenge.currency}, not {currency}.",
                code="currency_mismatch",
            )
        return challenge.currency
    return currency if currency is not None else await _only_currency(session)


async def version(session: AsyncSession, challenge_id: uuid.UUID | None, currency: str) -> int:
    """A number that grows whenever the view's rollup rows change (the sum of their change
    counters; rows are never deleted): equal versions mean equal graphs, since labels
    (names, titles) never change once written."""
    where = (
        FlowTotal.challenge_id == challenge_id
        if challenge_id is not None
        else FlowTotal.currency == currency
    )
    found = await session.scalar(select(func.coalesce(func.sum(FlowTotal.version), 0)).where(where))
    return int(found or 0)


async def build(
    session: AsyncSession, challenge_id: uuid.UUID | None, currency: str, max_funders: int
) -> FlowGraph:
    """The graph of a resolved view."""
    links, others = await _links(session, _scope(challenge_id, currency), max_funders)
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
