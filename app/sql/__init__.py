"""SQL plumbing that every layer shares: column types, the differences between PostgreSQL
and SQLite, the unit-of-work runner and the constraint naming convention.

It knows nothing of money or markets, so the ledger (which could be published on its own)
and the domain both build on it without depending on each other's internals.
"""
