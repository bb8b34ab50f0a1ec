"""Every table Tributary owns, for Alembic and for tests that inspect the schema."""

from __future__ import annotations

from sqlalchemy import MetaData

import app.domain.challenges.models
import app.domain.delivery.models
import app.domain.events.models
import app.domain.flows.models
import app.domain.idempotency.models
import app.domain.identity.models
import app.domain.money.models
import app.domain.pledges.models  # noqa: F401 - importing the models registers their tables
from app.domain.base import Base
from app.ledger.tables import metadata as ledger_metadata


def all_metadata() -> list[MetaData]:
    """The metadata of the domain's tables and of the ledger's."""
    return [ledger_metadata, Base.metadata]
