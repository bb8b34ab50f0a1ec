"""Swarms, claims and attestations on the wire."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.schemas.delivery import (
    AttestationOut,
    ClaimAttestationOut,
    ClaimOut,
    EvidenceOut,
    SwarmMemberOut,
    SwarmOut,
)
from app.domain.delivery import claims, swarms
from app.domain.store.claims import Attestation, Claim
from app.domain.store.swarms import Swarm, SwarmMember

SwarmView = tuple[Swarm, list[SwarmMember]]


async def swarm_view(session: AsyncSession, swarm: Swarm) -> SwarmView:
    return swarm, await swarms.members_of(session, swarm.id)


def swarm_out(item: SwarmView) -> SwarmOut:
    swarm, members = item
    return SwarmOut(
        id=swarm.id,
        name=swarm.name,
        lead_org_id=swarm.lead_org_id,
        status=swarm.status,
        members=[SwarmMemberOut.model_validate(member) for member in members],
        created_at=swarm.created_at,
    )


ClaimView = tuple[Claim, list[Attestation]]


async def claim_view(session: AsyncSession, claim: Claim) -> ClaimView:
    return claim, await claims.attestations_of(session, claim)


def claim_out(item: ClaimView) -> ClaimOut:
    claim, attestations = item
    return ClaimOut(
        id=claim.id,
        milestone_id=claim.milestone_id,
        status=claim.status,
        reported_value=claim.reported_value,
        evidence=[EvidenceOut.model_validate(e) for e in claim.evidence],
        verify_by=claim.verify_by,
        attestations=[ClaimAttestationOut.model_validate(a) for a in attestations],
        created_at=claim.created_at,
    )


def attestation_out(item: tuple[Attestation, Claim]) -> AttestationOut:
    attestation, claim = item
    return AttestationOut(
        id=attestation.id,
        claim_id=attestation.claim_id,
        verifier_org_id=attestation.verifier_org_id,
        verdict=attestation.verdict,
        value=attestation.value,
        counted=attestation.counted,
        claim_status=claim.status,
    )
