"""Matching rounds: a sponsor's pool for a set of challenges over a time window, divided by
quadratic funding at its end (app/domain/rounds). `round_challenges` keeps each listed
challenge and, once the round is closed, what it drew and was matched. Pledges gain an
index by challenge and creation time, for reading a round's contributions.

Revision ID: 0017_rounds_matching_rounds
Revises: 0016_bonus_mechanisms
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_rounds_matching_rounds"
down_revision: str | None = "0016_bonus_mechanisms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("sponsor_org_id", sa.Uuid(), nullable=False),
        sa.Column("matching_pool", sa.BigInteger(), nullable=False),
        sa.Column("floor_bps", sa.SmallInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sponsor_org_id"], ["orgs.id"], name=op.f("fk_rounds_sponsor_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
    )
    op.create_index("ix_rounds_status_ends_at", "rounds", ["status", "ends_at"], unique=False)
    op.create_index(op.f("ix_rounds_sponsor_org_id"), "rounds", ["sponsor_org_id"], unique=False)
    op.create_table(
        "round_challenges",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("challenge_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("contributors", sa.Integer(), nullable=True),
        sa.Column("contributed", sa.BigInteger(), nullable=True),
        sa.Column("matched", sa.BigInteger(), nullable=True),
        sa.Column("pledge_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_round_challenges_challenge_id_challenges"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_round_challenges_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("round_id", "challenge_id", name=op.f("pk_round_challenges")),
    )
    op.create_index(
        "ix_round_challenges_challenge_id", "round_challenges", ["challenge_id"], unique=False
    )
    op.create_index(
        "ix_round_challenges_pledge_id", "round_challenges", ["pledge_id"], unique=False
    )
    op.create_index("ix_pledges_challenge_id_created_at", "pledges", ["challenge_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_pledges_challenge_id_created_at", table_name="pledges")
    op.drop_index("ix_round_challenges_pledge_id", table_name="round_challenges")
    op.drop_index("ix_round_challenges_challenge_id", table_name="round_challenges")
    op.drop_table("round_challenges")
    op.drop_index(op.f("ix_rounds_sponsor_org_id"), table_name="rounds")
    op.drop_index("ix_rounds_status_ends_at", table_name="rounds")
    op.drop_table("rounds")
