"""Disputes and panel attestations on the wire."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.schemas.disputes import DisputeOut, PanelAttestationOut, PanelVoteOut
from app.domain.delivery import disputes
from app.domain.store.disputes import Dispute, PanelAttestation

DisputeView = tuple[Dispute, list[PanelAttestation]]


async def dispute_view(session: AsyncSession, dispute: Dispute) -> DisputeView:
    return dispute, await disputes.attestations_of(session, dispute)


def dispute_out(item: DisputeView) -> DisputeOut:
    dispute, votes = item
    return DisputeOut(
        id=dispute.id,
        claim_id=dispute.claim_id,
        milestone_id=dispute.milestone_id,
        opened_by_org_id=dispute.opened_by_org_id,
        reason=dispute.reason,
        status=dispute.status,
        panel_org_ids=dispute.panel_org_ids,
        outcome_value=dispute.outcome_value,
        attestations=[
            PanelVoteOut(
                verifier_org_id=vote.verifier_org_id,
                verdict=vote.verdict,
                value=vote.value,
                counted=str(vote.verifier_org_id) in dispute.panel_org_ids,
                created_at=vote.created_at,
            )
            for vote in votes
        ],
        created_at=dispute.created_at,
        resolved_at=dispute.resolved_at,
    )


def panel_attestation_out(item: tuple[PanelAttestation, Dispute]) -> PanelAttestationOut:
    attestation, dispute = item
    return PanelAttestationOut(
        id=attestation.id,
        dispute_id=attestation.dispute_id,
        verifier_org_id=attestation.verifier_org_id,
        verdict=attestation.verdict,
        value=attestation.value,
        dispute_status=dispute.status,
    )
