"""The one place where PostgreSQL and SQLite differ in the SQL we write.

PostgreSQL is the production engine (row locks, SKIP LOCKED, transaction ids, server-side
functions); SQLite is the embedded default with one writer at a time (BEGIN IMMEDIATE), where
row locks are unnecessary and not supported. Code elsewhere asks these helpers instead of
branching on the dialect's name itself.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, Text, cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

S = TypeVar("S", bound=Select[Any])


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def is_postgres(session: AsyncSession) -> bool:
    return dialect_name(session) == "postgresql"


def supports_row_locks(session: AsyncSession) -> bool:
    """SQLite has one writer at a time (BEGIN IMMEDIATE); PostgreSQL needs FOR UPDATE."""
    return is_postgres(session)


def _insert(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(table) if is_postgres(session) else sqlite.insert(table)


def insert_ignoring_conflicts(session: AsyncSession, table: Table, values: Any) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING on either engine (any unique constraint)."""
    return _insert(session, table).values(values).on_conflict_do_nothing()


def upsert_adding(
    session: AsyncSession,
    table: Table,
    values: dict[str, Any],
    *,
    key: list[str],
    column: str,
    counter: str | None = None,
) -> Insert:
    """INSERT the row, or add its `column` to the existing row's: atomic per row on both
    engines (ON CONFLICT DO UPDATE). A `counter` column, if named, counts the row's
    changes (the inserted row carries its first value)."""
    statement = _insert(session, table).values(values)
    changes = {column: table.c[column] + statement.excluded[column]}
    if counter is not None:
        changes[counter] = table.c[counter] + 1
    return statement.on_conflict_do_update(index_elements=key, set_=changes)


def json_array_has(session: AsyncSession, column: Any, value: str) -> ColumnElement[bool]:
    """SQL: the JSON array of strings in `column` contains `value` (PostgreSQL's jsonb
    containment; on SQLite, where JSON is stored as text, the quoted value in it)."""
    if is_postgres(session):
        return cast(column, JSONB).contains([value])
    return cast(column, Text).like(f'%"{value}"%')


def skip_locked(session: AsyncSession, query: S) -> S:
    """FOR UPDATE SKIP LOCKED where rows can be locked: a queue that many processes take from
    without waiting on each other. On SQLite the one writer needs no row locks."""
    if is_postgres(session):
        return query.with_for_update(skip_locked=True)
    return query
