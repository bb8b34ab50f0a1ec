"""Public reads, no key needed: where the money goes, platform totals, and the sealed
ledger log with its proofs. Nothing private (wallet balances, keys, statements, anonymous
funders' identities) is reachable from here."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.etag import body_with_etag, json_with_etag
from app.api.flows_cache import FlowsCache
from app.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_int_cursor, encode_cursor
from app.api.schemas.base import Page
from app.api.schemas.public import (
    ConsistencyProofOut,
    FlowsOut,
    InclusionProofOut,
    LogKeyOut,
    StatsOut,
    TreeHeadOut,
)
from app.domain import public_log
from app.domain.flows import graph
from app.domain.flows.stats import stats as platform_stats
from app.ledger import TreeSigner

router = APIRouter(prefix="/v1/public", tags=["public"])

TreeSize = Annotated[int, Query(ge=1, le=2**62)]
Currency = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")]
MaxFunders = Annotated[int, Query(ge=1, le=graph.MAX_FUNDERS)]


def _signer(request: Request) -> TreeSigner | None:
    """The key this deployment seals with; None when it does not seal."""
    signer: TreeSigner | None = request.app.state.signer_source.get()
    return signer


@router.get(
    "/flows",
    response_model=FlowsOut,
    responses=error_responses(404, 422),
    summary="Funding flows funder -> challenge -> milestone -> actor, exact (public)",
)
async def flows(
    request: Request,
    database: DatabaseDep,
    challenge_id: uuid.UUID | None = None,
    currency: Currency = None,
    max_funders: MaxFunders = graph.DEFAULT_MAX_FUNDERS,
) -> Response:
    cache: FlowsCache = request.app.state.flows_cache
    async with database.read() as session:
        currency = await graph.resolve_currency(session, challenge_id, currency)
        view = await cache.view(session, challenge_id, currency, max_funders)
    body, tag = view.rendered(
        lambda found: (
            FlowsOut.model_validate(found, from_attributes=True).model_dump_json().encode("utf-8")
        )
    )
    return body_with_etag(request, body, tag)


@router.get(
    "/stats",
    response_model=StatsOut,
    summary="Totals per currency: pledged, paid, returned, and who took part (public)",
)
async def stats(request: Request, database: DatabaseDep) -> Response:
    async with database.read() as session:
        found = await platform_stats(session)
    return json_with_etag(request, StatsOut.model_validate({"totals": found}, from_attributes=True))


@router.get(
    "/ledger/tree-head",
    response_model=TreeHeadOut,
    responses=error_responses(404, 422),
    summary="The latest signed tree head of the ledger log, or the one at ?tree_size= (public)",
)
async def tree_head(
    request: Request, database: DatabaseDep, tree_size: TreeSize | None = None
) -> Response:
    async with database.read() as session:
        head = await public_log.tree_head(session, _signer(request), tree_size)
    return json_with_etag(request, TreeHeadOut.model_validate(head, from_attributes=True))


@router.get(
    "/ledger/tree-heads",
    response_model=Page[TreeHeadOut],
    responses=error_responses(404, 422),
    summary="Every signed tree head, newest (largest tree_size) first: the sizes to ask "
    "proofs for (public)",
)
async def tree_heads(
    request: Request, database: DatabaseDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    below_size = decode_int_cursor(cursor)  # a cursor is the size of the last head seen
    async with database.read() as session:
        found = await public_log.tree_heads(
            session, _signer(request), below_size=below_size, limit=limit + 1
        )
    page = found[:limit]
    next_cursor = encode_cursor(str(page[-1].tree_size)) if len(found) > limit else None
    items = [TreeHeadOut.model_validate(head, from_attributes=True) for head in page]
    return json_with_etag(request, Page[TreeHeadOut](items=items, next_cursor=next_cursor))


@router.get(
    "/ledger/key",
    response_model=LogKeyOut,
    responses=error_responses(404),
    summary="The Ed25519 public key that signs tree heads (public)",
)
async def log_key(request: Request) -> LogKeyOut:
    return LogKeyOut.model_validate(public_log.public_key(_signer(request)))


@router.get(
    "/ledger/entries/{entry_id}/proof",
    response_model=InclusionProofOut,
    responses=error_responses(404, 422),
    summary="Inclusion proof of a sealed entry in the tree of ?tree_size= or the latest (public)",
)
async def inclusion_proof(
    request: Request, entry_id: uuid.UUID, database: DatabaseDep, tree_size: TreeSize | None = None
) -> Response:
    async with database.read() as session:
        proof = await public_log.inclusion_proof(session, _signer(request), entry_id, tree_size)
    out = InclusionProofOut.model_validate(proof, from_attributes=True)
    return json_with_etag(request, out, max_age=60 if tree_size else 0)


@router.get(
    "/ledger/consistency",
    response_model=ConsistencyProofOut,
    responses=error_responses(404, 422),
    summary="Proof that the tree of size `first` is a prefix of the tree of size `second`",
)
async def consistency(
    request: Request, database: DatabaseDep, first: TreeSize, second: TreeSize
) -> Response:
    async with database.read() as session:
        proof = await public_log.consistency_proof(session, _signer(request), first, second)
    out = ConsistencyProofOut(first=first, second=second, proof=proof)
    return json_with_etag(request, out, max_age=3600)
