"""Challenges, their SDG targets and milestones; pledges.

Revision ID: 0005_challenges_pledges
Revises: 0004_money
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_challenges_pledges"
down_revision: str | None = "0004_money"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "challenges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("sdg_targets", sa.JSON(), nullable=False),
        sa.Column("region", sa.String(length=10), nullable=True),
        sa.Column("region_country", sa.String(length=2), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("steward_org_id", sa.Uuid(), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["steward_org_id"], ["orgs.id"], name=op.f("fk_challenges_steward_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenges")),
    )
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.create_index("ix_challenges_closes_at", ["closes_at"], unique=False)
        batch_op.create_index("ix_challenges_region_country", ["region_country"], unique=False)
        batch_op.create_index(
            "ix_challenges_status_created_at", ["status", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_challenges_steward_org_id"), ["steward_org_id"], unique=False
        )

    op.create_table(
        "challenge_sdg_targets",
        sa.Column("challenge_id", sa.Uuid(), nullable=False),
        sa.Column("target", sa.String(length=8), nullable=False),
        sa.Column("goal", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_sdg_targets_challenge_id_challenges"),
        ),
        sa.PrimaryKeyConstraint("challenge_id", "target", name=op.f("pk_challenge_sdg_targets")),
    )
    with op.batch_alter_table("challenge_sdg_targets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_challenge_sdg_targets_goal", ["goal", "challenge_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_challenge_sdg_targets_target"), ["target"], unique=False
        )

    op.create_table(
        "milestones",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("challenge_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("metric", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("payout_rule", sa.String(length=16), nullable=False),
        sa.Column("budget_cap", sa.BigInteger(), nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("verifier_org_ids", sa.JSON(), nullable=False),
        sa.Column("awarded_bid_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_milestones_challenge_id_challenges")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
    )
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.create_index(
            "ix_milestones_challenge_id_created_at", ["challenge_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_milestones_due_at"), ["due_at"], unique=False)

    op.create_table(
        "pledges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("challenge_id", sa.Uuid(), nullable=False),
        sa.Column("funder_org_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("threshold_amount", sa.BigInteger(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("match_ratio_bps", sa.Integer(), nullable=True),
        sa.Column("earmark_milestone_ids", sa.JSON(), nullable=False),
        sa.Column("earmark_sdg_targets", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_expiry", sa.String(length=16), nullable=False),
        sa.Column("rollover_challenge_id", sa.Uuid(), nullable=True),
        sa.Column("rolled_into_pledge_id", sa.Uuid(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("hold_entry_id", sa.Uuid(), nullable=True),
        sa.Column("hold_sequence", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_pledges_challenge_id_challenges")
        ),
        sa.ForeignKeyConstraint(
            ["funder_org_id"], ["orgs.id"], name=op.f("fk_pledges_funder_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledges")),
    )
    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pledges_challenge_id_status", ["challenge_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_pledges_funder_org_id_created_at",
            ["funder_org_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_pledges_status_deadline", ["status", "deadline"], unique=False)
        batch_op.create_index(
            "ix_pledges_status_expires_at", ["status", "expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.drop_index("ix_pledges_status_expires_at")
        batch_op.drop_index("ix_pledges_status_deadline")
        batch_op.drop_index("ix_pledges_funder_org_id_created_at")
        batch_op.drop_index("ix_pledges_challenge_id_status")

    op.drop_table("pledges")
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestones_due_at"))
        batch_op.drop_index("ix_milestones_challenge_id_created_at")

    op.drop_table("milestones")
    with op.batch_alter_table("challenge_sdg_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenge_sdg_targets_target"))
        batch_op.drop_index("ix_challenge_sdg_targets_goal")

    op.drop_table("challenge_sdg_targets")
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_challenges_steward_org_id"))
        batch_op.drop_index("ix_challenges_status_created_at")
        batch_op.drop_index("ix_challenges_region_country")
        batch_op.drop_index("ix_challenges_closes_at")

    op.drop_table("challenges")
