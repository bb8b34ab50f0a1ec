"""One constraint naming convention for every table, the ledger's and the domain's.

Named constraints (rather than database-generated names) make migrations reproducible on
PostgreSQL and SQLite alike and let error handling recognise a constraint by name.
"""

from __future__ import annotations

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
