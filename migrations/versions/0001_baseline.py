"""Baseline: an empty, versioned schema.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-25

Marks the start of Tributary's schema history so that /readyz and `tributary migrate` have a
head to compare against from the very first deployment.
"""

from collections.abc import Sequence

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to create yet: Alembic's own version table records the baseline."""


def downgrade() -> None:
    """Nothing to drop."""
