"""Who is calling: organisations, their roles and API keys, and the audit trail."""
