"""Funding mechanisms (issue 18): assurance bonuses, and bids priced per verified unit.

Revision ID: 0016_bonus_mechanisms
Revises: 0015_flow_versions
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_bonus_mechanisms"
down_revision: str | None = "0015_flow_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assurance_bonuses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("challenge_id", sa.Uuid(), nullable=False),
        sa.Column("sponsor_org_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("bonus_bps", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_assurance_bonuses_challenge_id_challenges"),
        ),
        sa.ForeignKeyConstraint(
            ["sponsor_org_id"], ["orgs.id"], name=op.f("fk_assurance_bonuses_sponsor_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assurance_bonuses")),
    )
    op.create_index(
        "ix_assurance_bonuses_challenge_id_created_at",
        "assurance_bonuses",
        ["challenge_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_assurance_bonuses_sponsor_org_id", "assurance_bonuses", ["sponsor_org_id"], unique=False
    )
    # Plain ADD COLUMN on both engines (no batch mode: SQLite's foreign keys refuse a copy).
    op.add_column(
        "bids",
        sa.Column("pricing", sa.String(length=16), server_default="lump_sum", nullable=False),
    )
    op.add_column("bids", sa.Column("unit_price", sa.BigInteger(), nullable=True))
    op.add_column("bids", sa.Column("max_units", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for column in ("max_units", "unit_price", "pricing"):
        op.execute(f"ALTER TABLE bids DROP COLUMN {column}")
    op.drop_index("ix_assurance_bonuses_sponsor_org_id", table_name="assurance_bonuses")
    op.drop_index("ix_assurance_bonuses_challenge_id_created_at", table_name="assurance_bonuses")
    op.drop_table("assurance_bonuses")
