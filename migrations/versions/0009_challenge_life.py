"""A challenge's life closes cleanly: milestones carry a verification window, SDG targets
and the milestone they re-tender; claims carry the time they may be attested until;
attestations say whether they counted; pledges say where their remainder goes at completion.

Revision ID: 0009_challenge_life
Revises: 0008_events
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_challenge_life"
down_revision: str | None = "0008_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both engines: batch mode would copy and drop tables on SQLite,
    # which its foreign keys refuse once other rows refer to them.
    op.add_column(
        "milestones",
        sa.Column(
            "verification_window_seconds",
            sa.Integer(),
            server_default=sa.text("604800"),
            nullable=False,
        ),
    )
    op.add_column(
        "milestones",
        sa.Column("sdg_targets", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
    )
    op.add_column("milestones", sa.Column("retender_of", sa.Uuid(), nullable=True))
    op.create_index("ix_milestones_retender_of", "milestones", ["retender_of"], unique=False)
    op.add_column("claims", sa.Column("verify_by", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "attestations",
        sa.Column("counted", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column(
        "pledges",
        sa.Column("on_completion", sa.String(length=16), server_default="refund", nullable=False),
    )


DROPPED = (
    ("pledges", "on_completion"),
    ("attestations", "counted"),
    ("claims", "verify_by"),
    ("milestones", "retender_of"),
    ("milestones", "sdg_targets"),
    ("milestones", "verification_window_seconds"),
)


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN on both engines (SQLite has it since 3.35): Alembic
    # would copy and drop each table on SQLite, which its foreign keys refuse once rows
    # (attestations of claims, claims of milestones) refer to it.
    op.drop_index("ix_milestones_retender_of", table_name="milestones")
    for table, column in DROPPED:
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
