"""Money in and out of the platform: wallets, deposits, withdrawals, balances, statements."""
