"""Count the SQL statements a piece of work sends, through a cursor-execute listener.

BEGIN, COMMIT, ROLLBACK and savepoints are transaction control, not work, and are not
counted (on PostgreSQL the driver sends them outside the cursor anyway; on SQLite we emit
BEGIN IMMEDIATE ourselves).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


@contextmanager
def recorded_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Yield a list that fills with every statement (first line, trimmed) sent meanwhile."""
    sent: list[str] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if not _CONTROL.match(statement):
            sent.append(" ".join(statement.split())[:160])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
