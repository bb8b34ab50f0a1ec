"""Every table Tributary owns, for Alembic and for tests that inspect the schema."""

from __future__ import annotations

from sqlalchemy import MetaData

from app.domain.base import Base


def all_metadata() -> list[MetaData]:
    """The metadata of the domain's tables and of the ledger's, imported so they register."""
    return [Base.metadata]
