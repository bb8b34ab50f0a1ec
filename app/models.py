"""Every table Tributary owns: importing this module builds the one complete metadata.

Every entry point that touches the database (the app, the command line, Alembic, tests)
imports it, so a table's foreign keys always resolve to typed columns, whichever modules the
entry point happened to import first.
"""

from __future__ import annotations

from sqlalchemy import MetaData

import app.domain.events.models
import app.domain.flows.models
import app.domain.idempotency.models
import app.domain.identity.models
import app.domain.money.models
import app.domain.store.bids
import app.domain.store.bonuses
import app.domain.store.challenges
import app.domain.store.claims
import app.domain.store.disputes
import app.domain.store.milestones
import app.domain.store.pledges
import app.domain.store.rounds
import app.domain.store.swarms  # noqa: F401 - importing the models registers their tables
from app.domain.base import Base
from app.ledger.tables import metadata as ledger_metadata


def all_metadata() -> list[MetaData]:
    """The metadata of the domain's tables and of the ledger's."""
    return [ledger_metadata, Base.metadata]
