"""Reports a funder takes to its board: the impact report and impact certificates."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from app.api.auth import CallerDep
from app.api.csv_export import csv_responses, wants_csv
from app.api.deps import DatabaseDep
from app.api.docs import error_responses
from app.api.exports import impact_csv
from app.api.presenters.reports import certificate_out, impact_out
from app.api.schemas.reports import CertificateOut, ImpactOut
from app.domain.reports.certificates import certificate_of
from app.domain.reports.impact import impact_of
from app.ledger import TreeSigner

router = APIRouter(prefix="/v1", tags=["reports"])


@router.get(
    "/orgs/{org_id}/impact",
    response_model=ImpactOut,
    responses={**error_responses(401, 404, 422), **csv_responses()},
    summary="What the funder's pledges paid per milestone, its units and cost per unit "
    "(admin, the organisation)",
    description="Units attributable to the funder = verified value x its share of that "
    "payout, computed exactly and rounded once (2 places, half to even); cost per unit = paid "
    "/ exact units, rounded once to minor units. With pledges in several currencies, "
    "`?currency=` is required (422 `currency_required`).",
)
async def get_impact(
    request: Request,
    org_id: uuid.UUID,
    caller: CallerDep,
    database: DatabaseDep,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
) -> ImpactOut | Response:
    async with database.read() as session:
        report = await impact_of(session, caller, org_id, currency=currency)
    if wants_csv(request):
        return await impact_csv(report, org_id)
    return impact_out(report)


@router.get(
    "/orgs/{org_id}/certificates/{milestone_id}",
    response_model=CertificateOut,
    responses=error_responses(401, 404, 422),
    summary="An impact certificate anyone can check offline with the log's key (admin, the "
    "organisation)",
    description="The payout entries that carried the funder's money to the milestone, each "
    "with its leaf, meta and audit path to one signed tree head; check it with "
    "`tools/verify_ledger_proof.py certificate`. 404 `not_sealed` until every entry is sealed; "
    "404 when the funder's money paid nothing there.",
)
async def get_certificate(
    request: Request,
    org_id: uuid.UUID,
    milestone_id: uuid.UUID,
    caller: CallerDep,
    database: DatabaseDep,
) -> CertificateOut:
    signer: TreeSigner | None = request.app.state.signer_source.get()
    async with database.read() as session:
        certificate = await certificate_of(session, caller, signer, org_id, milestone_id)
    return certificate_out(certificate)
