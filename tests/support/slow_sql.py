"""Widen a race window from outside the code under test: a trigger that sleeps.

A test installs a PostgreSQL trigger that sleeps when a chosen row is written, so a
transaction pauses at a known point while holding whatever it locked so far, and the test
starts a competing process at exactly that moment. Nothing in the application changes.
"""

from __future__ import annotations

import time

import psycopg


def slow_down(url: str, *, table: str, event: str, when: str, seconds: float) -> None:
    """Make every `event` (INSERT / UPDATE) on `table` whose row matches `when` (a trigger
    WHEN condition over NEW) sleep `seconds` inside the writing transaction."""
    name = f"tributary_test_slow_{table}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN PERFORM pg_sleep({seconds}); RETURN NEW; END $$"
        )
        conn.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        conn.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION {name}()"
        )


def stop_slowing(url: str, table: str) -> None:
    name = f"tributary_test_slow_{table}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")


def wait_for_sleeper(url: str, timeout_seconds: float = 30) -> None:
    """Wait until some backend of this database sleeps in such a trigger."""
    deadline = time.monotonic() + timeout_seconds
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event = 'PgSleep'"
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.02)
    raise TimeoutError("no transaction reached the slowed-down write")


def deadlocks(url: str) -> int:
    """Deadlocks PostgreSQL has detected in this database so far."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0
