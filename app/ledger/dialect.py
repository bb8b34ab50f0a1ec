"""The one seam where PostgreSQL and SQLite differ for the ledger's SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert_ignoring_conflicts(session: AsyncSession, table: Table, values: Any) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING on either engine (any unique constraint)."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table).values(values).on_conflict_do_nothing()
    return sqlite.insert(table).values(values).on_conflict_do_nothing()


def supports_row_locks(session: AsyncSession) -> bool:
    """SQLite has one writer at a time (BEGIN IMMEDIATE); PostgreSQL needs FOR UPDATE."""
    return dialect_name(session) == "postgresql"
