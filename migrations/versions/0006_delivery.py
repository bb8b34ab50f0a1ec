"""Delivery: swarms and their members, bids, claims, attestations, payouts.

Revision ID: 0006_delivery
Revises: 0005_challenges_pledges
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_delivery"
down_revision: str | None = "0005_challenges_pledges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "swarms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lead_org_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_org_id"], ["orgs.id"], name=op.f("fk_swarms_lead_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_swarms")),
    )
    with op.batch_alter_table("swarms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_swarms_lead_org_id"), ["lead_org_id"], unique=False)

    op.create_table(
        "swarm_members",
        sa.Column("swarm_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("share_bps", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_swarm_members_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["swarm_id"], ["swarms.id"], name=op.f("fk_swarm_members_swarm_id_swarms")
        ),
        sa.PrimaryKeyConstraint("swarm_id", "org_id", name=op.f("pk_swarm_members")),
    )
    with op.batch_alter_table("swarm_members", schema=None) as batch_op:
        batch_op.create_index("ix_swarm_members_org_id", ["org_id"], unique=False)

    op.create_table(
        "bids",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("milestone_id", sa.Uuid(), nullable=False),
        sa.Column("swarm_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["milestone_id"], ["milestones.id"], name=op.f("fk_bids_milestone_id_milestones")
        ),
        sa.ForeignKeyConstraint(["swarm_id"], ["swarms.id"], name=op.f("fk_bids_swarm_id_swarms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids")),
    )
    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bids_milestone_id_created_at", ["milestone_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bids_swarm_id"), ["swarm_id"], unique=False)

    op.create_table(
        "claims",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("milestone_id", sa.Uuid(), nullable=False),
        sa.Column("bid_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reported_value", sa.BigInteger(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bid_id"], ["bids.id"], name=op.f("fk_claims_bid_id_bids")),
        sa.ForeignKeyConstraint(
            ["milestone_id"], ["milestones.id"], name=op.f("fk_claims_milestone_id_milestones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index(
            "ix_claims_milestone_id_created_at", ["milestone_id", "created_at"], unique=False
        )

    op.create_table(
        "attestations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("verifier_org_id", sa.Uuid(), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_attestations_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["verifier_org_id"], ["orgs.id"], name=op.f("fk_attestations_verifier_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestations")),
        sa.UniqueConstraint(
            "claim_id", "verifier_org_id", name=op.f("uq_attestations_claim_id_verifier_org_id")
        ),
    )
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attestations_claim_id"), ["claim_id"], unique=False)

    op.create_table(
        "payouts",
        sa.Column("milestone_id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("outcome_value", sa.String(length=40), nullable=False),
        sa.Column("outcome_fraction", sa.String(length=40), nullable=False),
        sa.Column("splits", sa.JSON(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_payouts_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"], ["milestones.id"], name=op.f("fk_payouts_milestone_id_milestones")
        ),
        sa.PrimaryKeyConstraint("milestone_id", name=op.f("pk_payouts")),
    )


def downgrade() -> None:
    op.drop_table("payouts")
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attestations_claim_id"))

    op.drop_table("attestations")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_milestone_id_created_at")

    op.drop_table("claims")
    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bids_swarm_id"))
        batch_op.drop_index("ix_bids_milestone_id_created_at")

    op.drop_table("bids")
    with op.batch_alter_table("swarm_members", schema=None) as batch_op:
        batch_op.drop_index("ix_swarm_members_org_id")

    op.drop_table("swarm_members")
    with op.batch_alter_table("swarms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_swarms_lead_org_id"))

    op.drop_table("swarms")
