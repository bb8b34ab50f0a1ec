"""The declarative base of the market's tables, with stable constraint names.

Named constraints (rather than database-generated names) make migrations reproducible on
PostgreSQL and SQLite alike and let error handling recognise a constraint by name.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.sql.naming import NAMING_CONVENTION  # one convention for every table


class Base(DeclarativeBase):
    """Base class of every mapped table of app/domain."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
