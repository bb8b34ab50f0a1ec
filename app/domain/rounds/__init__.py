"""Matching rounds: a sponsor's pool divided among challenges by quadratic funding."""
