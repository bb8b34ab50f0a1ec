"""Disputes: a challenge's dispute window, a milestone's `pays_at`, disputes of verified
claims and their panels' attestations; a milestone's `verifier_fee`; a challenge's host fee
(`host_fee_bps`, `host_org_id`).

Revision ID: 0018_disputes_window_and_fees
Revises: 0017_rounds_matching_rounds
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_disputes_window_and_fees"
down_revision: str | None = "0017_rounds_matching_rounds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both engines (no batch mode: see 0009).
    op.add_column(
        "challenges",
        sa.Column(
            "dispute_window_seconds", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
    )
    op.add_column(
        "challenges",
        sa.Column("host_fee_bps", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    # No foreign key: SQLite can neither add one to an existing table nor drop a column
    # that has one without copying the table; the service checks the organisation exists.
    op.add_column("challenges", sa.Column("host_org_id", sa.Uuid(), nullable=True))
    op.add_column("milestones", sa.Column("pays_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_milestones_pays_at", "milestones", ["pays_at"], unique=False)
    op.add_column(
        "milestones",
        sa.Column("verifier_fee", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_table(
        "disputes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("milestone_id", sa.Uuid(), nullable=False),
        sa.Column("opened_by_org_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("panel_org_ids", sa.JSON(), nullable=False),
        sa.Column("outcome_value", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name="fk_disputes_claim_id_claims"),
        sa.ForeignKeyConstraint(
            ["milestone_id"], ["milestones.id"], name="fk_disputes_milestone_id_milestones"
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_org_id"], ["orgs.id"], name="fk_disputes_opened_by_org_id_orgs"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_disputes"),
    )
    op.create_index("ix_disputes_claim_id", "disputes", ["claim_id"], unique=False)
    op.create_index(
        "ix_disputes_milestone_id_created_at",
        "disputes",
        ["milestone_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "dispute_attestations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("verifier_org_id", sa.Uuid(), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["disputes.id"], name="fk_dispute_attestations_dispute_id_disputes"
        ),
        sa.ForeignKeyConstraint(
            ["verifier_org_id"], ["orgs.id"], name="fk_dispute_attestations_verifier_org_id_orgs"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dispute_attestations"),
        sa.UniqueConstraint(
            "dispute_id",
            "verifier_org_id",
            name="uq_dispute_attestations_dispute_id_verifier_org_id",
        ),
    )
    op.create_index(
        "ix_dispute_attestations_dispute_id", "dispute_attestations", ["dispute_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_dispute_attestations_dispute_id", table_name="dispute_attestations")
    op.drop_table("dispute_attestations")
    op.drop_index("ix_disputes_milestone_id_created_at", table_name="disputes")
    op.drop_index("ix_disputes_claim_id", table_name="disputes")
    op.drop_table("disputes")
    op.drop_index("ix_milestones_pays_at", table_name="milestones")
    # Plain ALTER TABLE ... DROP COLUMN on both engines (see 0009's downgrade).
    for table, column in DROPPED:
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


DROPPED = [
    ("milestones", "verifier_fee"),
    ("milestones", "pays_at"),
    ("challenges", "host_org_id"),
    ("challenges", "host_fee_bps"),
    ("challenges", "dispute_window_seconds"),
]
