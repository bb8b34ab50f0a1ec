"""A general double-entry ledger: accounts, balanced journal entries, two-phase transfers.

It knows nothing of challenges or pledges and imports nothing from the rest of Tributary, so
it could be lifted into its own package. This module is its public face.
"""
